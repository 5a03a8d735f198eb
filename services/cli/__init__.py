"""`videorecs`: the lab's pipeline as a command line, and the one-command embedded run.

The CLI is not a service: it is a client of the services' public APIs (the Personalize
API through aiobotocore, the registry over HTTP) plus the catalog loader, so pointed at
AWS it does there exactly what it does against the local engine.
"""
