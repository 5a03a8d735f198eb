"""The videorecs web app: a static single-page app plus a same-origin API proxy."""
