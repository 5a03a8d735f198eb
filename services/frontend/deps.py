"""Dependency aliases: the settings, the proxy and the templates of this process."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from services.frontend.config import Settings
from services.frontend.proxy import Proxy


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_proxy(request: Request) -> Proxy:
    proxy: Proxy = request.app.state.proxy
    return proxy


def get_templates(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ProxyDep = Annotated[Proxy, Depends(get_proxy)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
