"""The loopback service under hostile and ordinary input (issue: reliability): no 500s, every refusal a
4xx with a specific message and code, nothing left in the state directory, the OpenAPI document declares
its auth and errors, and a fuzz test keeps it that way for options, paths and upload names.
"""
from __future__ import annotations

import json
import shutil
import socket
import time
from pathlib import Path

import httpx
import pytest

from posebake_core.jobs import ErrorCode
from posebake_core.motion import Motion
from posebake.service.store import Job, JobStore
from tests.test_service import Server, finished, load_client, wait_for

CLIP = "mmhuman3d_two_people_handshake.mp4"  # 40 frames
EXIT = "sports2d_two_people_exit_frame.mp4"  # moov first: a truncated copy still decodes its first frames
NAMES = ("Танец 舞蹈.mp4", "舞蹈.mp4", "💃 dance 🕺.mp4", "vidéo.mp4")
UPLOAD_TIMEOUT_S = 2


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, videos: Path) -> Path:
    """An allowed root with the clip, a symlink loop and an over-long name."""
    d = tmp_path_factory.mktemp("reliability") / "allowed"
    d.mkdir()
    shutil.copy(videos / CLIP, d / CLIP)
    (d / "loop_a.mp4").symlink_to(d / "loop_b.mp4")
    (d / "loop_b.mp4").symlink_to(d / "loop_a.mp4")
    return d


@pytest.fixture(scope="module")
def server(root: Path, model_files: Path):
    srv = Server(root.parent / "srv", [root], extra=("--upload-timeout", str(UPLOAD_TIMEOUT_S))).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def http(server: Server):
    with server.http() as client:
        yield client


def uploads_left(server: Server) -> list[str]:
    return sorted(p.name for p in (server.state / "uploads").iterdir())


def assert_error(r: httpx.Response, status: int, code: str, phrase: str = "") -> None:
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()
    assert body["code"] == code and phrase in body["detail"], body


def test_non_latin_upload_names_work_end_to_end(server: Server, videos: Path, tmp_path: Path) -> None:
    """Cyrillic, CJK, emoji and accented names through the add-on's own client: done, name kept."""
    client = load_client().BackendClient(server.url, token=server.token)
    jobs = {}
    for name in NAMES:
        shutil.copy(videos / CLIP, tmp_path / name)
        jobs[name] = client.submit_video(str(tmp_path / name), start=0, end=8)
        assert jobs[name]["source"] == name
    for name, job in jobs.items():
        done = client.wait(job["id"], poll=0.2, timeout=300)
        assert done["state"] == "done" and done["source"] == name, done
        dest = client.result(job["id"], str(tmp_path / f"{job['id']}.npz"))
        assert Motion.load(dest).source_video == name
        r = httpx.get(f"{server.url}/jobs/{job['id']}/result", headers={"Authorization": f"Bearer {server.token}"})
        assert r.status_code == 200 and "filename*=utf-8''" in r.headers["content-disposition"].lower()
    assert uploads_left(server) == []


def test_bad_paths_and_huge_numbers_are_4xx(http: httpx.Client, root: Path) -> None:
    assert_error(http.post("/jobs", json={"path": str(root / "loop_a.mp4")}), 422, ErrorCode.PATH_INVALID, "loop")
    assert_error(http.post("/jobs", json={"path": str(root / "a\x00b.mp4")}), 422, ErrorCode.PATH_INVALID, "NUL")
    assert_error(http.post("/jobs", data={"path": str(root) + "/x\x00.mp4"}), 422, ErrorCode.PATH_INVALID, "NUL")
    long = str(root / ("n" * 300 + ".mp4"))
    assert_error(http.post("/jobs", json={"path": long}), 422, ErrorCode.PATH_INVALID, "too long")
    assert_error(http.post("/jobs", json={"path": str(root / CLIP / "inside.mp4")}), 404, ErrorCode.PATH_NOT_FOUND)
    assert_error(http.post("/jobs", json={"path": str(root / CLIP), "start": 10 ** 400}), 422,
                 ErrorCode.OPTION_OUT_OF_RANGE, "start")
    assert_error(http.post("/jobs", data={"path": str(root / CLIP), "start": "9" * 400}), 422,
                 ErrorCode.INVALID_OPTION, "start")
    assert_error(http.post("/jobs", json={"path": ["not", "a", "string"]}), 422, ErrorCode.BAD_REQUEST)
    assert_error(http.post("/jobs", json={"path": str(root / CLIP), "end": 2 ** 40}), 422,
                 ErrorCode.OPTION_OUT_OF_RANGE, "end")


@pytest.mark.parametrize("opts, phrase", [({"fov": 1e-9}, "fov"), ({"fov": 179.9999}, "179.9999"),
                                          ({"focal": 1e-300}, "field of view"), ({"focal": 1e308}, "field of view")])
def test_absurd_intrinsics_are_refused_at_submission(http: httpx.Client, root: Path, opts: dict, phrase: str) -> None:
    before = len(http.get("/jobs").json())
    assert_error(http.post("/jobs", json={"path": str(root / CLIP), **opts}), 422, ErrorCode.OPTION_OUT_OF_RANGE,
                 phrase)
    assert len(http.get("/jobs").json()) == before  # nothing queued


def test_openapi_declares_bearer_auth_and_every_error(http: httpx.Client) -> None:
    from openapi_spec_validator import validate

    spec = http.get("/openapi.json").json()
    validate(spec)
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"]["type"] == "http" and schemes["bearer"]["scheme"].lower() == "bearer"
    expected = {("post", "/jobs"): {"400", "401", "403", "404", "408", "413", "415", "422", "503"},
                ("get", "/jobs"): {"401", "403"}, ("get", "/jobs/{job_id}"): {"401", "403", "404"},
                ("delete", "/jobs/{job_id}"): {"401", "403", "404"},
                ("get", "/jobs/{job_id}/result"): {"401", "403", "404", "409", "410"}}
    seen = set()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            seen.add((method, path))
            if path == "/health":
                assert not op.get("security"), op
                continue
            assert op.get("security") == [{"bearer": []}], (method, path, op.get("security"))
            assert expected[(method, path)] <= set(op["responses"]), (method, path, sorted(op["responses"]))
            for status in expected[(method, path)]:
                body = op["responses"][status]["content"]["application/json"]["schema"]
                assert body["required"] == ["detail", "code"]
    assert seen == set(expected) | {("get", "/health")}


def _raw(server: Server, head: bytes, parts: list[bytes], pause: float = 0.0, close: bool = False) -> bytes:
    """Send a request by hand (to stall, cut or drop it); the response bytes, if any."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        sock.sendall(head)
        for part in parts:
            sock.sendall(part)
        time.sleep(pause)
        if close:
            return b""
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data and data.split(b"\r\n\r\n", 1)[1].rstrip().endswith(b"}"):
                break
        return data
    finally:
        sock.close()


def _multipart_head(server: Server, extra: str) -> tuple[bytes, bytes]:
    boundary = "xyzboundary"
    part = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.mp4\"\r\n"
            "Content-Type: video/mp4\r\n\r\n").encode()
    head = (f"POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.token}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n{extra}\r\n").encode()
    return head, part


def _status_and_body(raw: bytes) -> tuple[int, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = body.split(b"\r\n", 1)[1].rsplit(b"\r\n0\r\n", 1)[0]
    return status, json.loads(body.strip() or b"{}")


def test_stalled_upload_times_out(server: Server, videos: Path) -> None:
    head, part = _multipart_head(server, "Content-Length: 5000000\r\n")
    status, body = _status_and_body(_raw(server, head, [part, (videos / CLIP).read_bytes()[:20000]]))
    assert status == 408 and body["code"] == ErrorCode.UPLOAD_TIMEOUT, body
    assert uploads_left(server) == []


def test_cut_short_upload_is_refused_not_run(server: Server, videos: Path) -> None:
    """A chunked body that ends without the closing boundary: 400, no job, nothing stored."""
    before = len(server.http().get("/jobs").json())
    head, part = _multipart_head(server, "Transfer-Encoding: chunked\r\n")
    data = part + (videos / CLIP).read_bytes()[:100_000]
    chunked = f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n"
    status, body = _status_and_body(_raw(server, head, [chunked]))
    assert status == 400 and body["code"] == ErrorCode.UPLOAD_INCOMPLETE, body
    assert uploads_left(server) == [] and len(server.http().get("/jobs").json()) == before


def test_client_leaving_mid_upload_logs_no_traceback(server: Server, videos: Path) -> None:
    head, part = _multipart_head(server, "Content-Length: 5000000\r\n")
    _raw(server, head, [part, (videos / CLIP).read_bytes()[:50000]], pause=0.3, close=True)
    time.sleep(1.0)
    assert uploads_left(server) == []
    log = server.log_tail()
    assert "Traceback" not in log and " ERROR " not in log, log


def test_truncated_video_finishes_with_a_warning(server: Server, http: httpx.Client, videos: Path,
                                                 tmp_path: Path) -> None:
    cut = tmp_path / "cut.mp4"
    cut.write_bytes((videos / EXIT).read_bytes()[:400_000])  # 12 of its 230 frames decode
    with open(cut, "rb") as fh:
        r = http.post("/jobs", files={"file": ("cut.mp4", fh, "video/mp4")}, data={"end": "30"})
    assert r.status_code == 201, r.text
    job = wait_for(http, r.json()["id"], finished)
    assert job["state"] == "done", job
    assert any("ended after 12 of the 30 frames" in w for w in job["warnings"]), job


def test_a_recovered_job_without_its_result_says_failed_everywhere(tmp_path: Path) -> None:
    dirs = [tmp_path / n for n in ("jobs", "uploads", "results")]
    for d in dirs:
        d.mkdir()
    store = JobStore(*dirs)
    store.save(Job(id="j1", kind="path", source="/v.mp4", video="/v.mp4", options={}, state="done", stage="done"))
    (job,) = store.recover()
    assert (job.state, job.stage, job.error_code) == ("failed", "failed", ErrorCode.RESULT_GONE)


# -- fuzz: no input reaches a 500 ------------------------------------------------------------------------
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from posebake_core.jobs import OPTION_NAMES  # noqa: E402

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)  # anything a client can encode
VALUES = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10 ** 400), max_value=10 ** 400),
                   st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=False),
                   st.sampled_from([1e-300, -0.0, 1e308, 179.9999, 2 ** 53 + 1]), TEXT, st.lists(st.integers(), max_size=3),
                   st.dictionaries(TEXT, st.integers(), max_size=2))
KEYS = st.one_of(st.sampled_from(OPTION_NAMES + ("path", "file", "max_poeple")), TEXT)
FUZZ = settings(max_examples=80, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def paths(root: Path) -> st.SearchStrategy[str]:
    """Paths a client might send: in the root or not, looping, too long, NUL, relative, odd scripts; never
    the one real clip (a valid job would run the estimator for every example)."""
    fixed = [str(root / "loop_a.mp4"), str(root), str(root / ".." / ".." / "etc" / "passwd"), "/", "",
             str(root / ("x" * 5000)), str(root / "a\x00"), "relative.mp4", "~/v.mp4", str(root / CLIP / "x")]
    return st.one_of(st.sampled_from(fixed), TEXT, TEXT.map(lambda s: f"{root}/{s}"),
                     TEXT.map(lambda s: f"{root}/{s}" * 40))


def assert_not_500(r: httpx.Response) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:500])
    if r.status_code >= 400:
        body = r.json()
        assert set(body) >= {"detail", "code"} and body["code"] != ErrorCode.INTERNAL, body


def test_fuzz_json_jobs_never_500(http: httpx.Client, root: Path) -> None:
    @FUZZ
    @given(opts=st.dictionaries(KEYS, VALUES, max_size=5), path=paths(root))
    def check(opts: dict, path: str) -> None:
        body = json.dumps({**opts, "path": path}, allow_nan=True)  # NaN/Infinity literals too, as a raw client may
        assert_not_500(http.post("/jobs", content=body, headers={"Content-Type": "application/json"}))
    check()


def test_fuzz_form_jobs_never_500(http: httpx.Client, root: Path) -> None:
    @FUZZ
    @given(fields=st.dictionaries(KEYS, TEXT, max_size=5), path=paths(root))
    def check(fields: dict, path: str) -> None:
        assert_not_500(http.post("/jobs", data={**fields, "path": path}))
    check()


def test_fuzz_upload_names_and_options_never_500(server: Server, http: httpx.Client) -> None:
    @FUZZ
    @given(name=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300),
           fields=st.dictionaries(st.sampled_from(OPTION_NAMES), TEXT, max_size=3))
    def check(name: str, fields: dict) -> None:
        r = http.post("/jobs", files={"file": (name, b"not a video at all", "video/mp4")}, data=fields)
        assert_not_500(r)
        assert r.status_code in (413, 415, 422), (r.status_code, r.text)
    check()
    assert uploads_left(server) == []


def test_fuzz_job_ids_never_500(http: httpx.Client) -> None:
    from urllib.parse import quote

    @FUZZ
    @given(job_id=TEXT.filter(lambda s: s not in ("", ".", "..")))
    def check(job_id: str) -> None:
        for method, suffix in (("GET", ""), ("GET", "/result"), ("DELETE", "")):
            r = http.request(method, f"/jobs/{quote(job_id, safe='')}{suffix}")  # as the add-on's client sends it
            assert_not_500(r)
            assert r.status_code in (404, 405), (job_id, r.status_code, r.text)
    check()
