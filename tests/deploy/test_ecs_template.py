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
        name: res["Properties"]
        for name, res in _template()["Resources"].items()
        if res["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
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
