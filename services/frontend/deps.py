"""Dependency aliases: the settings, the proxy and the templates of this process.

`async def` although they await nothing: FastAPI runs a plain `def` dependency in a worker
thread, a hop per request during which the request still counts against the shed limit
(shedding.py) without having reached its body yet; under a burst of 300 requests whose
bodies never came, that hop alone had most of them shed."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from services.frontend.config import Settings
from services.frontend.proxy import Proxy


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_proxy(request: Request) -> Proxy:
    proxy: Proxy = request.app.state.proxy
    return proxy


async def get_templates(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ProxyDep = Annotated[Proxy, Depends(get_proxy)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
