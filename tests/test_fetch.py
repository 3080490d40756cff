import time

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from etl.fetch import Fetcher
from etl.settings import Settings


def settings(**kw) -> Settings:
    base = {"fetch_retries": 2, "fetch_backoff_s": 0.01, "fetch_timeout_s": 0.5, "fetch_max_bytes": 10_000}
    return Settings(**{**base, **kw})


def test_ok_body_status_and_user_agent(httpserver: HTTPServer):
    httpserver.expect_request("/a", headers={"User-Agent": "nw-test/1"}).respond_with_data(
        "<html>hi</html>", content_type="text/html"
    )
    with Fetcher(settings(user_agent="nw-test/1")) as fetcher:
        result = fetcher.fetch(httpserver.url_for("/a"))
    assert result.ok and result.status == 200 and result.body == b"<html>hi</html>"
    assert result.content_type.startswith("text/html")


def test_404_is_recorded_not_raised_and_not_retried(httpserver: HTTPServer):
    httpserver.expect_request("/gone").respond_with_data("no", status=404)
    with Fetcher(settings()) as fetcher:
        result = fetcher.fetch(httpserver.url_for("/gone"))
    assert not result.ok and result.status == 404 and result.error == "HTTP 404" and result.body == b""
    assert len(httpserver.log) == 1


def test_5xx_is_retried_until_success(httpserver: HTTPServer):
    calls = []

    def flaky(request: Request) -> Response:
        calls.append(1)
        return Response("busy", status=503) if len(calls) < 3 else Response("done")

    httpserver.expect_request("/flaky").respond_with_handler(flaky)
    with Fetcher(settings()) as fetcher:
        result = fetcher.fetch(httpserver.url_for("/flaky"))
    assert result.ok and result.body == b"done" and len(calls) == 3


def test_timeout_is_retried_then_reported(httpserver: HTTPServer):
    calls = []

    def slow(request: Request) -> Response:
        calls.append(1)
        time.sleep(0.5)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    with Fetcher(settings(fetch_retries=1, fetch_timeout_s=0.2)) as fetcher:
        result = fetcher.fetch(httpserver.url_for("/slow"))
    assert not result.ok and result.status is None and result.error.startswith("timeout")
    time.sleep(1.2)  # the test server is single-threaded: let it reach the retry
    assert len(calls) == 2


def test_size_cap(httpserver: HTTPServer):
    httpserver.expect_request("/big").respond_with_data("x" * 20_000)
    with Fetcher(settings()) as fetcher:
        result = fetcher.fetch(httpserver.url_for("/big"))
    assert not result.ok and "too large" in result.error


def test_redirects_followed_and_bounded(httpserver: HTTPServer):
    httpserver.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/new"})
    httpserver.expect_request("/new").respond_with_data("moved here")
    httpserver.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    with Fetcher(settings(max_redirects=3)) as fetcher:
        moved = fetcher.fetch(httpserver.url_for("/old"))
        loop = fetcher.fetch(httpserver.url_for("/loop"))
    assert moved.ok and moved.final_url.endswith("/new") and moved.body == b"moved here"
    assert not loop.ok and "redirects" in loop.error


def test_connection_refused_is_an_error_result():
    with Fetcher(settings(fetch_retries=0)) as fetcher:
        result = fetcher.fetch("http://127.0.0.1:9/nothing")
    assert not result.ok and result.status is None and result.error


def test_fetch_many_keeps_order_and_limits_per_host(httpserver: HTTPServer):
    active = []
    peak = []

    def handler(request: Request) -> Response:
        active.append(1)
        peak.append(len(active))
        time.sleep(0.05)
        active.pop()
        return Response(request.path)

    httpserver.expect_request("/p", query_string=None).respond_with_handler(handler)
    for i in range(8):
        httpserver.expect_request(f"/p{i}").respond_with_handler(handler)
    urls = [httpserver.url_for(f"/p{i}") for i in range(8)]
    with Fetcher(settings(fetch_concurrency=8)) as fetcher:
        results = fetcher.fetch_many(urls)
    assert [r.body.decode() for r in results] == [f"/p{i}" for i in range(8)]
    assert max(peak) <= 2  # at most two requests in flight per host
