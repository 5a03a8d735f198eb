"""deploy/ecs/template.yaml passes cfn-lint and routes the paths nginx routes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from cfnlint.decode import decode_str

from tests.utils.servers import ROOT

TEMPLATE = ROOT / "deploy" / "ecs" / "template.yaml"
NGINX = ROOT / "deploy" / "nginx" / "default.conf.template"


def test_cfn_lint_passes() -> None:
    # Run the venv's cfn-lint (a dev extra), so its version is the project's pin.
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    done = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True,
                          timeout=180, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def _template() -> dict:  # type: ignore[type-arg]
    template, matches = decode_str(TEMPLATE.read_text())
    assert not matches
    assert template is not None
    return dict(template)


def test_load_balancer_strips_the_same_prefixes_as_nginx() -> None:
    nginx_prefixes = set(re.findall(r"location (/api/[a-z]+/)", NGINX.read_text()))
    rules = {
        name: props
        for name, props in _listener_rules().items()
        if props["Actions"][0]["Type"] == "forward"
    }
    alb_prefixes = set()
    for props in rules.values():
        (pattern,) = props["Conditions"][0]["PathPatternConfig"]["Values"]
        prefix = pattern.removesuffix("*")
        alb_prefixes.add(prefix)
        (rewrite,) = props["Transforms"][0]["UrlRewriteConfig"]["Rewrites"]
        assert rewrite == {"Regex": f"^{prefix}(.*)$", "Replace": "/$1"}
    assert alb_prefixes == nginx_prefixes == {"/api/catalog/", "/api/registry/",
                                              "/api/recommender/"}


def test_secrets_come_from_secrets_manager() -> None:
    resources = _template()["Resources"]
    secrets = {n for n, r in resources.items() if r["Type"] == "AWS::SecretsManager::Secret"}
    assert {"DatabaseSecret", "AdminSecret", "SessionKeySecret", "ApiTokenSecret"} <= secrets
    for name, res in resources.items():
        if res["Type"] != "AWS::ECS::TaskDefinition":
            continue
        for container in res["Properties"]["ContainerDefinitions"]:
            plain = {e.get("Name") for e in container.get("Environment", [])}
            assert not plain & {"DATABASE_URL", "ADMIN_PASSWORD", "SECRET_KEY", "API_TOKEN"}, name
            if container["Name"] != "bootstrap":
                assert "HealthCheck" in container, name


def _listener_rules() -> dict:  # type: ignore[type-arg]
    return {
        name: res["Properties"]
        for name, res in _template()["Resources"].items()
        if res["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
    }


def test_load_balancer_keeps_operator_pages_off_like_nginx() -> None:
    """/metrics, /docs, /redoc and /openapi.json, of the frontend and under /api/<name>/,
    answer 404 before any forwarding rule (lower priority numbers are evaluated first)."""
    rules = _listener_rules()
    blocked = {
        value
        for props in rules.values()
        if props["Actions"][0]["Type"] == "fixed-response"
        for value in props["Conditions"][0]["PathPatternConfig"]["Values"]
    }
    pages = {"/metrics", "/docs*", "/redoc", "/openapi.json"}
    assert blocked == pages | {"/api/*" + page for page in pages}
    first_forward = min(
        props["Priority"] for props in rules.values() if props["Actions"][0]["Type"] == "forward"
    )
    for props in rules.values():
        if props["Actions"][0]["Type"] == "fixed-response":
            assert props["Priority"] < first_forward
            assert props["Actions"][0]["FixedResponseConfig"]["StatusCode"] == "404"
    assert "metrics|docs|redoc|openapi" in NGINX.read_text()
