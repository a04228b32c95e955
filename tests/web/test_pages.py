"""The page shell without a browser: session cookie flags, CSRF, sign-in redirects, 403 pages."""

from __future__ import annotations

import re

import asyncpg
from conftest import Login
from litestar.testing import AsyncTestClient

from stateasset.ledger.credit_code import check_character
from stateasset.web.shell import CSRF_COOKIE, SESSION_COOKIE


async def _csrf(client: AsyncTestClient) -> str:
    page = await client.get("/login")
    assert page.status_code == 200
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return token.group(1)


async def _sign_in(client: AsyncTestClient, username: str, password: str, next: str = "/"):
    token = await _csrf(client)
    return await client.post(
        "/login",
        data={"username": username, "password": password, "next": next, "_csrf_token": token},
        follow_redirects=False,
    )


async def test_a_page_without_a_session_goes_to_sign_in(client: AsyncTestClient) -> None:
    response = await client.get("/ledger/entities?q=城建", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/ledger/entities%3Fq%3D%E5%9F%8E%E5%BB%BA"


async def test_a_form_post_without_the_csrf_token_is_403(
    client: AsyncTestClient, login_as: Login
) -> None:
    await login_as("admin", username="admin-csrf")
    await _csrf(client)  # the CSRF cookie is set, but the form leaves out its token
    response = await client.post(
        "/login",
        data={"username": "admin-csrf", "password": "correct horse battery staple"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.cookies


async def test_sign_in_sets_an_http_only_lax_cookie_that_opens_pages(
    client: AsyncTestClient, login_as: Login, db: asyncpg.Connection
) -> None:
    await login_as("board", username="board-page")
    response = await _sign_in(
        client, "board-page", "correct horse battery staple", next="/ledger/entities"
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/ledger/entities"
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
    )
    flags = {f.strip().lower() for f in cookie.split(";")}
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
    assert "secure" not in flags  # plain http here; https requests get Secure
    home = await client.get("/")
    assert home.status_code == 200
    assert "<h1>集团概览</h1>" in home.text
    assert "API reference" in home.text
    # the board reads everything but the audit log
    assert ">主体与股权</a>" in home.text and "审计日志" not in home.text
    assert (await client.get("/audit", follow_redirects=False)).status_code in (403, 404)
    assert CSRF_COOKIE in client.cookies


async def test_wrong_password_shows_the_form_again(
    client: AsyncTestClient, login_as: Login
) -> None:
    await login_as("admin", username="admin-wrong")
    response = await _sign_in(client, "admin-wrong", "not it")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert SESSION_COOKIE not in response.cookies


async def test_the_api_ignores_the_session_cookie(client: AsyncTestClient, login_as: Login) -> None:
    await login_as("admin", username="admin-api")
    assert (await _sign_in(client, "admin-api", "correct horse battery staple")).status_code == 303
    assert (await client.get("/")).status_code == 200
    # the cookie is sent, but the API wants the bearer header, so CSRF cannot reach it
    assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_a_bad_name_shows_beside_its_field_and_changes_nothing(
    client: AsyncTestClient, login_as: Login
) -> None:
    admin = await login_as("admin", username="admin-rename")
    code = "91350181000000001"
    created = await client.post(
        "/api/v1/ledger/entities/",
        headers=admin,
        json={
            "credit_code": code + check_character(code),
            "name": "福清市示例有限公司",
            "kind": "subsidiary",
        },
    )
    assert created.status_code == 201, created.text
    url = f"/ledger/entities/{created.json()['id']}"
    assert (
        await _sign_in(client, "admin-rename", "correct horse battery staple")
    ).status_code == 303
    token = await _csrf(client)

    refused = await client.post(
        url, data={"name": "", "short_name": "示例", "_csrf_token": token}, follow_redirects=False
    )
    assert refused.status_code == 422
    # the API's problem (field body.name, msgspec's reason) beside the name input
    field = re.search(r'<label class="field has-problem">名称.*?</label>', refused.text, re.S)
    assert field is not None
    assert 'aria-invalid="true"' in field.group(0)
    assert "Expected `str` of length &gt;= 1" in field.group(0)
    assert "示例" in refused.text  # what was typed stays in the form
    assert (
        await client.get(f"/api/v1/ledger/entities/{created.json()['id']}", headers=admin)
    ).json()["name"] == "福清市示例有限公司"

    saved = await client.post(
        url,
        data={"name": "福清市示例发展有限公司", "short_name": "示例", "_csrf_token": token},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == url
    after = (
        await client.get(f"/api/v1/ledger/entities/{created.json()['id']}", headers=admin)
    ).json()
    assert (after["name"], after["short_name"]) == ("福清市示例发展有限公司", "示例")


async def test_over_https_the_session_cookie_is_secure(
    client: AsyncTestClient, login_as: Login
) -> None:
    await login_as("auditor", username="auditor-https")
    client.base_url = "https://testserver.local"  # the request arrives over https
    response = await _sign_in(client, "auditor-https", "correct horse battery staple")
    assert response.status_code == 303
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
    )
    flags = {f.strip().lower() for f in cookie.split(";")}
    assert {"secure", "httponly", "samesite=lax"} <= flags


async def test_an_htmx_request_without_a_session_is_sent_to_sign_in(
    client: AsyncTestClient,
) -> None:
    response = await client.get(
        "/ledger/entities?page=2", headers={"HX-Request": "true"}, follow_redirects=False
    )
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == "/login?next=/ledger/entities%3Fpage%3D2"


async def test_the_sign_in_form_shares_the_apis_throttle(
    client: AsyncTestClient, login_as: Login
) -> None:
    await login_as("admin", username="admin-throttle")
    for _ in range(5):  # STATEASSET_LOGIN_ATTEMPTS
        assert (await _sign_in(client, "admin-throttle", "wrong")).status_code == 401
    refused = await _sign_in(client, "admin-throttle", "correct horse battery staple")
    assert refused.status_code == 429
    assert "登录失败次数过多" in refused.text
    assert SESSION_COOKIE not in refused.cookies
    # the API answers from the same counter
    api = await client.post(
        "/api/v1/auth/login",
        json={"username": "admin-throttle", "password": "correct horse battery staple"},
    )
    assert api.status_code == 429
