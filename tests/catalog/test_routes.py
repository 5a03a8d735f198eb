"""The catalog API against ml-100k, on SQLite and PostgreSQL (docs/contracts.md, Catalog)."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import httpx
import pytest

from services.catalog.genres import GENRES
from tests.utils.servers import run_server


@pytest.fixture(scope="module")
def ratings(movielens_dir: Path) -> dict[int, list[tuple[int, int, int]]]:
    """u.data read independently of the loader: user -> [(movie, rating, timestamp)]."""
    by_user: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for line in (movielens_dir / "u.data").read_text().splitlines():
        user, movie, rating, ts = map(int, line.split("\t"))
        by_user[user].append((movie, rating, ts))
    return by_user


@pytest.fixture(scope="module")
def expected_popular(
    movielens_dir: Path, ratings: dict[int, list[tuple[int, int, int]]]
) -> dict[str, list[tuple[int, int]]]:
    """Genre slug -> [(movie, 4-5 star reviews)] by count desc then id, from the files."""
    positive = Counter(m for reviews in ratings.values() for m, r, _ in reviews if r >= 4)
    flags = {}
    for line in (movielens_dir / "u.item").read_text(encoding="latin-1").splitlines():
        fields = line.split("|")
        flags[int(fields[0])] = fields[5:]
    ranked = sorted(positive.items(), key=lambda item: (-item[1], item[0]))
    return {g.slug: [(m, n) for m, n in ranked if flags[m][g.index] == "1"] for g in GENRES}


class TestGetUser:
    async def test_valid(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/users/1")
        assert response.status_code == 200
        user = response.json()
        assert {k: user[k] for k in ("id", "age", "gender", "occupation", "zip_code")} == {
            "id": 1,
            "age": 24,
            "gender": "M",
            "occupation": "technician",
            "zip_code": "85711",
        }
        assert user["review_count"] == 272
        assert (user["previous_id"], user["next_id"]) == (None, 2)
        assert [line["rating"] for line in user["review_summary"]] == [5, 4, 3, 2, 1]
        assert sum(line["count"] for line in user["review_summary"]) == 272

    async def test_summary_with_missing_star_values(
        self, client: httpx.AsyncClient, ratings: dict[int, list[tuple[int, int, int]]]
    ) -> None:
        user_id = next(u for u in sorted(ratings) if len({r for _, r, _ in ratings[u]}) < 5)
        counts = Counter(r for _, r, _ in ratings[user_id])
        total = len(ratings[user_id])
        summary = (await client.get(f"/users/{user_id}")).json()["review_summary"]
        assert summary == [
            {"rating": s, "count": counts[s], "percent": round(100 * counts[s] / total, 1)}
            for s in (5, 4, 3, 2, 1)
        ]
        assert any(line["count"] == 0 for line in summary)

    async def test_last_user_has_no_next(self, client: httpx.AsyncClient) -> None:
        user = (await client.get("/users/943")).json()
        assert (user["previous_id"], user["next_id"]) == (942, None)

    async def test_not_existing(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/users/944")
        assert (response.status_code, response.json()) == (404, {"detail": "user 944 not found"})

    @pytest.mark.parametrize("bad", ["abc", "0", "-3", "1.5", "99999999999"])
    async def test_invalid(self, client: httpx.AsyncClient, bad: str) -> None:
        response = await client.get(f"/users/{bad}")
        assert response.status_code == 422
        assert response.json()["detail"].startswith("user_id: ")


async def test_random_user(client: httpx.AsyncClient) -> None:
    ids = set()
    for _ in range(5):
        user = (await client.get("/users/random")).json()
        assert 1 <= user["id"] <= 943 and len(user["review_summary"]) == 5
        assert user == (await client.get(f"/users/{user['id']}")).json()
        ids.add(user["id"])
    assert len(ids) > 1


class TestListUsers:
    async def test_valid(self, client: httpx.AsyncClient) -> None:
        page = (await client.get("/users", params={"offset": 940, "limit": 10})).json()
        assert page["count"] == 943
        assert [u["id"] for u in page["data"]] == [941, 942, 943]
        assert set(page["data"][0]) == {
            "id",
            "age",
            "gender",
            "occupation",
            "zip_code",
            "review_count",
        }

    async def test_default_page(self, client: httpx.AsyncClient) -> None:
        page = (await client.get("/users")).json()
        assert [u["id"] for u in page["data"]] == list(range(1, 51))
        assert page["data"][0]["review_count"] == 272

    @pytest.mark.parametrize(
        "params", [{"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "x"}]
    )
    async def test_invalid(self, client: httpx.AsyncClient, params: dict[str, object]) -> None:
        response = await client.get("/users", params=params)
        assert response.status_code == 422
        assert response.json()["detail"].split(":")[0] in params


class TestUserReviews:
    async def test_order_and_fields(
        self, client: httpx.AsyncClient, ratings: dict[int, list[tuple[int, int, int]]]
    ) -> None:
        response = await client.get("/users/1/reviews")
        body = response.json()
        assert body["count"] == 272 and len(body["data"]) == 25
        expected = sorted(ratings[1], key=lambda r: (-r[1], -r[2], r[0]))[:25]
        assert [(r["movie"]["id"], r["rating"], r["timestamp"]) for r in body["data"]] == expected
        movie = body["data"][0]["movie"]
        assert set(movie) == {
            "id",
            "title",
            "year",
            "release_date",
            "imdb_url",
            "poster_url",
            "genres",
        }
        assert movie["poster_url"].startswith("https://")

    async def test_limit(self, client: httpx.AsyncClient) -> None:
        body = (await client.get("/users/2/reviews", params={"limit": 1000})).json()
        assert body["count"] == len(body["data"]) == 62

    async def test_not_existing(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/users/5000/reviews")
        assert (response.status_code, response.json()) == (404, {"detail": "user 5000 not found"})

    @pytest.mark.parametrize("limit", ["0", "1001", "many"])
    async def test_invalid(self, client: httpx.AsyncClient, limit: str) -> None:
        response = await client.get("/users/1/reviews", params={"limit": limit})
        assert response.status_code == 422
        assert response.json()["detail"].startswith("limit: ")


class TestGetMovie:
    async def test_valid(self, client: httpx.AsyncClient) -> None:
        movie = (await client.get("/movies/1")).json()
        assert movie["title"] == "Toy Story" and movie["year"] == 1995
        assert movie["release_date"] == "1995-01-01"
        assert movie["imdb_url"] == "http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)"
        assert movie["genres"] == ["animation", "childrens", "comedy"]
        assert movie["poster_url"].startswith("https://m.media-amazon.com/")

    async def test_unknown_genre_movie(self, client: httpx.AsyncClient) -> None:
        movie = (await client.get("/movies/267")).json()
        assert (movie["title"], movie["year"], movie["release_date"], movie["genres"]) == (
            "unknown",
            None,
            None,
            ["unknown"],
        )

    async def test_not_existing(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/movies/1683")
        assert (response.status_code, response.json()) == (404, {"detail": "movie 1683 not found"})

    async def test_invalid(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/movies/toy")
        assert response.status_code == 422
        assert response.json()["detail"].startswith("movie_id: ")


class TestMovieBatch:
    async def test_order_and_missing(self, client: httpx.AsyncClient) -> None:
        body = (await client.get("/movies", params={"ids": "3,1,99999,2,1"})).json()
        assert [m["id"] for m in body["data"]] == [3, 1, 2]
        assert (body["count"], body["missing"]) == (3, [99999])

    async def test_five_hundred(self, client: httpx.AsyncClient) -> None:
        ids = ",".join(str(i) for i in range(500, 0, -1))
        body = (await client.get("/movies", params={"ids": ids})).json()
        assert [m["id"] for m in body["data"]] == list(range(500, 0, -1))

    @pytest.mark.parametrize(
        ("ids", "detail"),
        [
            (",".join(["1"] * 501), "ids: at most 500 ids per request, got 501"),
            ("1,x", "ids: 'x' is not a movie id (a positive integer)"),
            ("1,-2", "ids: '-2' is not a movie id (a positive integer)"),
            (" , ", "ids: give at least one movie id"),
        ],
    )
    async def test_invalid(self, client: httpx.AsyncClient, ids: str, detail: str) -> None:
        response = await client.get("/movies", params={"ids": ids})
        assert (response.status_code, response.json()) == (422, {"detail": detail})

    async def test_ids_required(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/movies")
        assert (response.status_code, response.json()) == (422, {"detail": "ids: Field required"})


async def test_genres(client: httpx.AsyncClient) -> None:
    body = (await client.get("/genres")).json()
    assert body["count"] == 19
    assert body["data"][0] == {"slug": "unknown", "name": "unknown", "index": 0}
    by_slug = {g["slug"]: g for g in body["data"]}
    assert by_slug["horror"] == {"slug": "horror", "name": "Horror", "index": 11}
    assert by_slug["childrens"]["name"] == "Children's"
    assert by_slug["film-noir"]["name"] == "Film-Noir" and by_slug["sci-fi"]["name"] == "Sci-Fi"


class TestPopular:
    async def test_all_genres(self, client: httpx.AsyncClient) -> None:
        body = (await client.get("/movies/popular")).json()
        assert body["count"] == 1447 and len(body["data"]) == 25
        top = [(m["id"], m["positive_reviews"]) for m in body["data"]]
        assert top[:3] == [(50, 501), (100, 406), (181, 379)]
        # Ties by movie id: 98 and 258 both have 344; positions 24/25 are 204 and 210 (235).
        assert top.index((98, 344)) + 1 == top.index((258, 344))
        assert top[23:] == [(204, 235), (210, 235)]
        assert (await client.get("/movies/popular", params={"genre": "all"})).json() == body

    @pytest.mark.parametrize("genre", [g.slug for g in GENRES])
    async def test_every_genre(
        self,
        client: httpx.AsyncClient,
        genre: str,
        expected_popular: dict[str, list[tuple[int, int]]],
    ) -> None:
        body = (await client.get("/movies/popular", params={"genre": genre, "limit": 500})).json()
        assert body["data"], genre
        assert all(genre in m["genres"] for m in body["data"])
        got = [(m["id"], m["positive_reviews"]) for m in body["data"]]
        assert got == expected_popular[genre][:500]
        assert body["count"] == len(expected_popular[genre])

    async def test_horror_and_film_noir(self, client: httpx.AsyncClient) -> None:
        horror = (await client.get("/movies/popular", params={"genre": "horror"})).json()
        assert horror["data"][0]["id"] == 288  # Scream
        noir = (await client.get("/movies/popular", params={"genre": "film-noir"})).json()
        assert noir["count"] == 21

    @pytest.mark.parametrize(
        ("params", "detail"),
        [({"genre": "slasher"}, "genre: unknown genre 'slasher'"), ({"limit": 0}, "limit: ")],
    )
    async def test_invalid(
        self, client: httpx.AsyncClient, params: dict[str, object], detail: str
    ) -> None:
        response = await client.get("/movies/popular", params=params)
        assert response.status_code == 422
        assert response.json()["detail"].startswith(detail)


async def test_stats(client: httpx.AsyncClient) -> None:
    assert (await client.get("/stats")).json() == {
        "users": 943,
        "movies": 1682,
        "reviews": 100000,
        "positive_reviews": 55375,
        "positive_users": 942,
        "positive_movies": 1447,
    }


async def test_ready_and_documented(client: httpx.AsyncClient) -> None:
    ready = await client.get("/readyz")
    assert (ready.status_code, ready.json()) == (
        200,
        {"status": "ok", "checks": {"database": "ok"}},
    )
    spec = (await client.get("/openapi.json")).json()
    operations = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {
        "users-get",
        "users-random",
        "users-list",
        "users-reviews",
        "movies-get",
        "movies-batch",
        "movies-popular",
        "genres-list",
        "stats-get",
    } <= operations


@pytest.mark.parametrize(
    "path",
    [
        "/users/%00",
        "/users/1/reviews?limit=1e3",
        "/movies?ids=" + "9" * 40,
        "/movies/popular?genre=",
        "/movies/popular?genre=%27;drop",
        "/users?offset=99999999999",
        "/movies/2147483648",
        "/nowhere",
    ],
)
async def test_nothing_is_a_server_error(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert 400 <= response.status_code < 500
    assert isinstance(response.json()["detail"], str)


def test_served_by_uvicorn(loaded_url: str, tmp_path: Path) -> None:
    """`services.catalog.main:app` as deployed: a real uvicorn process, DATABASE_URL from env."""
    with run_server(
        "services.catalog.main:app",
        env={"DATABASE_URL": loaded_url, "ACCESS_LOG": "false", "LOG_LEVEL": "WARNING"},
        log_dir=tmp_path,
    ) as server:
        response = httpx.get(f"{server.url}/users/1", headers={"x-request-id": "uv-1"})
        assert response.json()["review_count"] == 272
        assert response.headers["x-request-id"] == "uv-1"
        assert httpx.get(f"{server.url}/readyz").json()["status"] == "ok"
