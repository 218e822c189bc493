"""The HTTP door: health, authentication with demo tokens, and the read-only catalog API."""

import requests


def get(server, path, token=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(server + path, headers=headers, params=params, timeout=30)


def test_health_needs_no_token(server):
    r = get(server, "/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_api_refuses_missing_and_wrong_tokens(server):
    for token in (None, "zs_not_a_token"):
        r = get(server, "/api/v1/resources", token)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthenticated"


def test_resources_list_and_page(server, credentials):
    token = credentials["rsj_user"]["token"]
    r = get(server, "/api/v1/resources", token)
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 13
    page3 = get(server, "/api/v1/resources", token, page=3, page_size=5).json()
    assert len(page3["items"]) == 3 and page3["page"] == 3
    base = get(server, "/api/v1/resources", token, tier="基础库").json()
    assert base["total"] == 6
    bad = get(server, "/api/v1/resources", token, tier="nonsense")
    assert bad.status_code == 400


def test_resource_detail_and_missing(server, credentials):
    token = credentials["gaj_officer"]["token"]
    r = get(server, "/api/v1/resources/440310-GA-0001", token).json()
    assert r["name"] == "人口基础信息"
    assert r["grade"] == "L4"
    assert r["provider_name"] == "深圳市公安局坪山分局"
    assert [c["name"] for c in r["columns"]][0] == "id_no"
    assert r["tables"][0]["row_count"] == 2500
    missing = get(server, "/api/v1/resources/NOPE", token)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_elements_show_sources(server, credentials):
    token = credentials["auditor"]["token"]
    e = get(server, "/api/v1/elements/公民身份号码", token).json()
    assert e["source"]["resource"] == "440310-GA-0001"
    assert e["source"]["owner_name"] == "深圳市公安局坪山分局"
    assert {r["resource"] for r in e["replicas"]} >= {"440310-RS-0001", "4403-RS-0001"}
    all_elements = get(server, "/api/v1/elements", token).json()
    assert len(all_elements) == 14
    cov = get(server, "/api/v1/coverage", token).json()
    assert cov["with_source"] == 12


def test_search_chinese(server, credentials):
    token = credentials["pingshan_street"]["token"]
    r = get(server, "/api/v1/search", token, q="社保").json()
    assert "440310-RS-0001" in [h["id"] for h in r["hits"]]
    r = get(server, "/api/v1/search", token, q="物联感知").json()
    assert {h["id"] for h in r["hits"]} >= {"440310-YJ-0001", "440310-YJ-0002"}


def test_me(server, credentials):
    r = get(server, "/api/v1/me", credentials["pingshan_street"]["token"]).json()
    assert r["id"] == "pingshan_street"
    assert r["attributes"]["jurisdiction"] == ["440310001"]


def test_quality_scores_rank_and_results(server, credentials):
    token = credentials["rsj_user"]["token"]
    assert get(server, "/api/v1/quality/rank").status_code == 401
    rank = get(server, "/api/v1/quality/rank", token).json()["items"]
    assert rank and rank[0]["rank"] == 1
    assert all(a["score"] >= b["score"] for a, b in zip(rank, rank[1:]))
    scores = get(server, "/api/v1/quality/scores", token, resource="440310-RS-0001").json()["items"]
    assert [s["resource"] for s in scores] == ["440310-RS-0001"] and scores[0]["score"] < 100
    results = get(server, "/api/v1/quality/results", token, resource="440310-RS-0001").json()["items"]
    conflict = next(r for r in results if r["rule"] == "consistency:person_name")
    assert conflict["rows_failed"] > 0 and conflict["examples"]
