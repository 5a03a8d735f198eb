"""The engine console: server-rendered admin pages for the local engine at /console.

Pages call the control-plane operations and runtime endpoints in process (see
engine_calls.py), behind the shared admin sign-in of services.common.admin_auth.
"""

from services.engine.console.app import create_console, mount_console

__all__ = ["create_console", "mount_console"]
