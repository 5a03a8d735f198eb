"""Registering the lab's models against real campaigns on the engine, and every refusal.

Each test runs on SQLite and on PostgreSQL (`database_url`).
"""

from __future__ import annotations

import time
import uuid

import httpx

from services.registry.config import Settings
from tests.registry.engine import Engine, personalize
from tests.registry.support import bearer, build_settings, csrf_of, running, sign_in

LAB_MODELS = [
    ("Personal Recommendations", "recommendations", 1),
    ("Similar Items", "similar-items", 1),
    ("Personalized Ranking", "ranking", 1),
]
RECIPE_OF = {
    "recommendations": "aws-popularity-count",
    "similar-items": "aws-sims",
    "ranking": "aws-personalized-ranking",
}


def on_engine(database_url: str, engine: Engine, **overrides: object) -> Settings:
    return build_settings(database_url, PERSONALIZE_ENDPOINT_URL=engine.url, **overrides)


async def register_lab(client: httpx.AsyncClient, engine: Engine) -> dict[str, dict[str, object]]:
    created = {}
    for name, model_type, order in LAB_MODELS:
        body = {
            "name": name,
            "campaign_arn": engine.campaigns[model_type],
            "type": model_type,
            "sort_order": order,
        }
        answer = await client.post("/models", json=body, headers=bearer())
        assert answer.status_code == 201, answer.text
        created[model_type] = answer.json()
    return created


async def test_registers_the_three_lab_models(database_url: str, engine: Engine) -> None:
    async with running(on_engine(database_url, engine)) as client:
        created = await register_lab(client, engine)
        for model_type, model in created.items():
            assert model["recipe"] == RECIPE_OF[model_type]
            assert model["campaign_arn"] == engine.campaigns[model_type]
            assert model["created_at"].endswith("Z") or "+00:00" in str(model["created_at"])
        listed = (await client.get("/models")).json()
        ranking = (await client.get("/models", params={"type": "ranking"})).json()
        one = (await client.get(f"/models/{created['similar-items']['id']}")).json()
    # The lab's order: recommendations, then ranking, then similar items.
    assert [m["type"] for m in listed["data"]] == ["recommendations", "ranking", "similar-items"]
    assert [m["recipe"] for m in listed["data"]] == [
        "aws-popularity-count",
        "aws-personalized-ranking",
        "aws-sims",
    ]
    assert listed["count"] == 3
    assert ranking == {"data": [created["ranking"]], "count": 1}
    assert one == created["similar-items"]


async def test_the_list_revalidates_with_its_etag(database_url: str, engine: Engine) -> None:
    """GET /models carries an ETag and no-cache: the same ETag back is an empty 304 while
    nothing changed; any write (a new sort order, say) changes it."""
    async with running(on_engine(database_url, engine)) as client:
        created = await register_lab(client, engine)
        first = await client.get("/models")
        etag = first.headers["etag"]
        assert first.headers["cache-control"] == "no-cache"
        unchanged = await client.get("/models", headers={"If-None-Match": etag})
        assert unchanged.status_code == 304 and unchanged.content == b""
        assert unchanged.headers["etag"] == etag
        model_id = created["ranking"]["id"]
        moved = await client.patch(f"/models/{model_id}", json={"sort_order": 9}, headers=bearer())
        assert moved.status_code == 200, moved.text
        changed = await client.get("/models", headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        assert [m["sort_order"] for m in changed.json()["data"] if m["id"] == model_id] == [9]


async def test_list_order_within_a_type(database_url: str, engine: Engine) -> None:
    arn = engine.campaigns["recommendations"]
    async with running(on_engine(database_url, engine)) as client:
        for name, order in [("b", 2), ("c", 1), ("a", 2), ("d", -5)]:
            body = {
                "name": name,
                "campaign_arn": arn,
                "type": "recommendations",
                "sort_order": order,
            }
            assert (await client.post("/models", json=body, headers=bearer())).status_code == 201
        listed = (await client.get("/models")).json()
    assert [m["name"] for m in listed["data"]] == ["d", "c", "a", "b"]


async def test_wrong_type_is_refused_naming_the_right_one(
    database_url: str, engine: Engine
) -> None:
    sims = engine.campaigns["similar-items"]
    async with running(on_engine(database_url, engine)) as client:
        answer = await client.post(
            "/models",
            json={"name": "SIMS as ranking", "campaign_arn": sims, "type": "ranking"},
            headers=bearer(),
        )
        other = await client.post(
            "/models",
            json={
                "name": "Ranking as recs",
                "campaign_arn": engine.campaigns["ranking"],
                "type": "recommendations",
            },
            headers=bearer(),
        )
        listed = (await client.get("/models")).json()
    assert answer.status_code == 422
    assert answer.json()["detail"] == (
        f"campaign {sims} uses recipe aws-sims (RELATED_ITEMS), which cannot serve "
        "model type 'ranking'; use type 'similar-items'"
    )
    assert other.status_code == 422
    assert other.json()["detail"].endswith(
        "uses recipe aws-personalized-ranking (PERSONALIZED_RANKING), which cannot serve "
        "model type 'recommendations'; use type 'ranking'"
    )
    assert listed["count"] == 0


async def test_missing_campaign_is_refused(database_url: str, engine: Engine) -> None:
    missing = "arn:aws:personalize:us-east-1:000000000000:campaign/never-deployed"
    async with running(on_engine(database_url, engine)) as client:
        answer = await client.post(
            "/models",
            json={"name": "Ghost", "campaign_arn": missing, "type": "recommendations"},
            headers=bearer(),
        )
        listed = (await client.get("/models")).json()
    assert answer.status_code == 422
    assert answer.json()["detail"] == f"campaign {missing} does not exist"
    assert listed["count"] == 0


async def test_campaign_not_active_is_refused(database_url: str, engine: Engine) -> None:
    async with running(on_engine(database_url, engine)) as client:
        # A campaign just created on the engine is CREATE PENDING for a while.
        pending = personalize(engine.url).create_campaign(
            name=f"registry-pending-{uuid.uuid4().hex[:8]}",
            solutionVersionArn=engine.solution_version_arns["recommendations"],
        )["campaignArn"]
        answer = await client.post(
            "/models",
            json={"name": "Too early", "campaign_arn": pending, "type": "recommendations"},
            headers=bearer(),
        )
        listed = (await client.get("/models")).json()
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert detail.startswith(f"campaign {pending} is CREATE ")
    assert detail.endswith(", not ACTIVE; register it once it is ACTIVE")
    assert listed["count"] == 0


async def test_duplicate_name_is_a_conflict(database_url: str, engine: Engine) -> None:
    async with running(on_engine(database_url, engine)) as client:
        created = await register_lab(client, engine)
        again = await client.post(
            "/models",
            json={
                "name": "Similar Items",
                "campaign_arn": engine.campaigns["similar-items"],
                "type": "similar-items",
            },
            headers=bearer(),
        )
        rename = await client.patch(
            f"/models/{created['ranking']['id']}", json={"name": "Similar Items"}, headers=bearer()
        )
    assert again.status_code == rename.status_code == 409
    assert again.json() == {
        "detail": "a model named 'Similar Items' already exists; choose another name"
    }


async def test_update_rechecks_a_new_campaign_or_type(database_url: str, engine: Engine) -> None:
    async with running(on_engine(database_url, engine)) as client:
        created = await register_lab(client, engine)
        model_id = created["recommendations"]["id"]
        moved = await client.patch(
            f"/models/{model_id}", json={"sort_order": 7, "name": "Popular"}, headers=bearer()
        )
        wrong = await client.patch(
            f"/models/{model_id}", json={"type": "ranking"}, headers=bearer()
        )
        switched = await client.patch(
            f"/models/{model_id}",
            json={"campaign_arn": engine.campaigns["ranking"], "type": "ranking"},
            headers=bearer(),
        )
        after = (await client.get(f"/models/{model_id}")).json()
    assert moved.status_code == 200
    assert moved.json()["sort_order"] == 7
    assert moved.json()["name"] == "Popular"
    assert moved.json()["updated_at"] >= moved.json()["created_at"]
    assert wrong.status_code == 422
    assert (
        "which cannot serve model type 'ranking'; use type 'recommendations'"
        in (wrong.json()["detail"])
    )
    assert switched.status_code == 200
    assert after == switched.json()
    assert after["type"] == "ranking"
    assert after["recipe"] == "aws-personalized-ranking"


async def test_delete(database_url: str, engine: Engine) -> None:
    async with running(on_engine(database_url, engine)) as client:
        created = await register_lab(client, engine)
        model_id = created["ranking"]["id"]
        deleted = await client.delete(f"/models/{model_id}", headers=bearer())
        gone = await client.get(f"/models/{model_id}")
        listed = (await client.get("/models")).json()
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert gone.status_code == 404
    assert listed["count"] == 2


async def test_engine_down(database_url: str, engine: Engine) -> None:
    async with running(on_engine(database_url, engine)) as client:
        created = await register_lab(client, engine)
    # Same database, Personalize now on a closed port: reads work, checked writes say 503.
    async with running(build_settings(database_url)) as client:
        started = time.monotonic()
        listed = await client.get("/models")
        refused = await client.post(
            "/models",
            json={
                "name": "New",
                "campaign_arn": engine.campaigns["recommendations"],
                "type": "recommendations",
            },
            headers=bearer(),
        )
        retyped = await client.patch(
            f"/models/{created['ranking']['id']}", json={"type": "similar-items"}, headers=bearer()
        )
        elapsed = time.monotonic() - started
        reordered = await client.patch(
            f"/models/{created['ranking']['id']}", json={"sort_order": 9}, headers=bearer()
        )
        after = (await client.get("/models")).json()
    assert listed.status_code == 200
    assert [m["recipe"] for m in listed.json()["data"]] == [None, None, None]
    for answer in (refused, retyped):
        assert answer.status_code == 503
        assert answer.json()["detail"].startswith("Personalize could not be reached")
    assert elapsed < 5
    # A change that needs no campaign check still goes through.
    assert reordered.status_code == 200
    assert [m["type"] for m in after["data"]] == ["recommendations", "ranking", "similar-items"]
    assert after["count"] == 3


async def test_cookie_session_writes_with_its_csrf_header(
    database_url: str, engine: Engine
) -> None:
    async with running(on_engine(database_url, engine)) as client:
        await sign_in(client)
        token = csrf_of((await client.get("/admin/")).text)
        answer = await client.post(
            "/models",
            json={
                "name": "From the page",
                "campaign_arn": engine.campaigns["similar-items"],
                "type": "similar-items",
            },
            headers={"X-CSRF-Token": token},
        )
    assert answer.status_code == 201
    assert answer.json()["recipe"] == "aws-sims"


class TestAdminForms:
    async def test_add_edit_delete(self, database_url: str, engine: Engine) -> None:
        arn = engine.campaigns["similar-items"]
        async with running(on_engine(database_url, engine)) as client:
            await sign_in(client)
            token = csrf_of((await client.get("/admin/models/new")).text)
            form = {"csrf_token": token, "name": "Similar", "campaign_arn": arn}
            added = await client.post(
                "/admin/models/new", data={**form, "type": "similar-items", "sort_order": "2"}
            )
            assert added.status_code == 303
            assert added.headers["location"] == "/admin/?done=added"
            page = (await client.get("/admin/?done=added")).text
            assert "Model added." in page
            assert "<td>Similar</td>" in page
            assert '<td class="recipe" data-label="Recipe">aws-sims</td>' in page
            model_id = (await client.get("/models")).json()["data"][0]["id"]

            edit = await client.get(f"/admin/models/{model_id}/edit")
            assert f'value="{arn}"' in edit.text
            wrong = await client.post(
                f"/admin/models/{model_id}/edit",
                data={**form, "type": "ranking", "sort_order": "2"},
            )
            assert wrong.status_code == 422
            assert (
                '<p class="field-error" id="type-error">campaign '
                f"{arn} uses recipe aws-sims (RELATED_ITEMS), which cannot serve model type "
                "&#39;ranking&#39;; use type &#39;similar-items&#39;</p>"
            ) in wrong.text
            saved = await client.post(
                f"/admin/models/{model_id}/edit",
                data={**form, "name": "Similar films", "type": "similar-items", "sort_order": "5"},
            )
            assert saved.headers["location"] == "/admin/?done=updated"
            model = (await client.get(f"/models/{model_id}")).json()
            assert (model["name"], model["sort_order"], model["type"]) == (
                "Similar films",
                5,
                "similar-items",
            )

            confirm = await client.get(f"/admin/models/{model_id}/delete")
            assert "Delete “Similar films”?" in confirm.text
            deleted = await client.post(
                f"/admin/models/{model_id}/delete", data={"csrf_token": token}
            )
            assert deleted.headers["location"] == "/admin/?done=deleted"
            assert (await client.get("/models")).json()["count"] == 0
            missing = await client.get(f"/admin/models/{model_id}/edit")
            assert missing.status_code == 404

    async def test_refusals_are_shown_next_to_the_field(
        self, database_url: str, engine: Engine
    ) -> None:
        async with running(on_engine(database_url, engine)) as client:
            await register_lab(client, engine)
            await sign_in(client)
            token = csrf_of((await client.get("/admin/models/new")).text)
            duplicate = await client.post(
                "/admin/models/new",
                data={
                    "csrf_token": token,
                    "name": "Similar Items",
                    "campaign_arn": engine.campaigns["similar-items"],
                    "type": "similar-items",
                    "sort_order": "1",
                },
            )
            missing = await client.post(
                "/admin/models/new",
                data={
                    "csrf_token": token,
                    "name": "Ghost",
                    "campaign_arn": "arn:aws:personalize:us-east-1:000000000000:campaign/none",
                    "type": "recommendations",
                    "sort_order": "1",
                },
            )
        assert duplicate.status_code == 409
        assert (
            'id="name-error">a model named &#39;Similar Items&#39; already exists; '
            "choose another name</p>" in duplicate.text
        )
        assert missing.status_code == 422
        assert (
            'id="campaign_arn-error">campaign arn:aws:personalize:us-east-1:000000000000:'
            "campaign/none does not exist</p>" in missing.text
        )
