"""moto's standalone server, with fixes that make its S3 closer to AWS.

Run by scripts/services/s3.sh with the venv's python; takes moto_server's
arguments (-H HOST -p PORT). Patches, each checked against moto 5.2.5:

1. CompleteMultipartUpload honours `If-Match: <etag>` (moto only does
   `If-None-Match: *`): 412 PreconditionFailed on mismatch, 404 NoSuchKey when
   there is no current object, as AWS documents.
2. CopyObject honours `x-amz-copy-source-if-match` and the destination's
   `If-Match` / `If-None-Match: *` (moto ignores all three).
3. Conditional writes are atomic: moto serves requests on threads and checks a
   precondition before it stores the object, so two racing
   `If-None-Match: *` / `If-Match` writes could both win. Object and bucket
   writes now run one at a time. The request body is read before the lock is
   taken, so a slow upload does not hold up other requests.
4. UploadPart to an aborted/unknown upload answers 404 NoSuchUpload, not 500.
5. ListObjects(V2)/ListObjectVersions return at most 1000 entries a page, as
   AWS does, even when MaxKeys asks for more (moto returned them all).
6. A PUT body is stored as sent whatever its Content-Type: Flask parsed
   `application/x-www-form-urlencoded` / `multipart/form-data` PUT bodies as
   forms, so moto stored an empty object (POST form uploads are unchanged).
"""

from __future__ import annotations

import sys
import threading
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import werkzeug.serving
from moto import server
from moto.moto_server.werkzeug_app import BackendRequest
from moto.s3.exceptions import MissingKey, NoSuchUpload, PreconditionFailed
from moto.s3.models import S3Backend
from moto.s3.responses import S3Response

_WRITE_METHODS = frozenset({"PUT", "POST", "DELETE"})
_write_lock = threading.RLock()
_MAX_KEYS = 1000  # AWS's page size limit for object listings


def _unquote(etag: str) -> str:
    return etag.strip().strip('"')


def _check_write_preconditions(headers: Any, key_name: str, existing: Any) -> None:
    """If-Match / If-None-Match of a write, as PutObject evaluates them on AWS."""
    if_match = headers.get("If-Match")
    if if_match:
        if existing is None:
            raise MissingKey(key=key_name)
        if if_match.strip() != "*" and _unquote(if_match) != _unquote(existing.etag):
            raise PreconditionFailed("If-Match")
    if (headers.get("If-None-Match") or "").strip() == "*" and existing is not None:
        raise PreconditionFailed("If-None-Match")


def _check_preconditions(self: S3Response, request: Any, full_url: str) -> None:
    """Preconditions moto skips, for CompleteMultipartUpload and CopyObject."""
    query = parse_qs(urlparse(full_url).query, keep_blank_values=True)
    headers = request.headers
    bucket_name = self.parse_bucket_name_from_url(request, full_url)
    key_name = self.parse_key_name()

    if request.method == "POST" and "uploadId" in query:  # CompleteMultipartUpload
        if not (headers.get("If-Match") or headers.get("If-None-Match")):
            return
        upload_id = query["uploadId"][0]
        existing = self.backend.get_object(bucket_name, key_name)
        if existing is not None and existing.multipart and existing.multipart.id == upload_id:
            return  # idempotent replay of a completed upload: conditions held back then
        if upload_id not in self.backend.get_bucket(bucket_name).multiparts:
            return  # moto answers NoSuchUpload, which takes precedence
        _check_write_preconditions(headers, key_name, existing)

    elif (
        request.method == "PUT"
        and "x-amz-copy-source" in headers
        and not query.keys() & {"uploadId", "acl", "tagging", "retention", "legal-hold"}
    ):  # CopyObject
        source = urlparse(headers["x-amz-copy-source"])
        src_bucket, _, src_key = unquote(source.path).lstrip("/").partition("/")
        src_version = parse_qs(source.query).get("versionId", [None])[0]
        src_if_match = headers.get("x-amz-copy-source-if-match")
        if src_if_match:
            src = self.backend.get_object(src_bucket, src_key, version_id=src_version)
            if src is not None and _unquote(src_if_match) != _unquote(src.etag):
                raise PreconditionFailed("x-amz-copy-source-If-Match")
        if headers.get("If-Match") or headers.get("If-None-Match"):
            existing = self.backend.get_object(bucket_name, key_name)
            _check_write_preconditions(headers, key_name, existing)


_orig_key_response = S3Response._key_response
_orig_bucket_response = S3Response._bucket_response


def _key_response(self: S3Response, request: Any, full_url: str) -> Any:
    if request.method not in _WRITE_METHODS:
        return _orig_key_response(self, request, full_url)
    with _write_lock:
        _check_preconditions(self, request, full_url)
        return _orig_key_response(self, request, full_url)


def _bucket_response(self: S3Response, request: Any, full_url: str) -> Any:
    if request.method not in _WRITE_METHODS:
        return _orig_bucket_response(self, request, full_url)
    with _write_lock:
        return _orig_bucket_response(self, request, full_url)


_orig_upload_part = S3Backend.upload_part


def _upload_part(
    self: S3Backend, bucket_name: str, multipart_id: str, *args: Any, **kwargs: Any
) -> Any:
    if multipart_id not in self.get_bucket(bucket_name).multiparts:
        raise NoSuchUpload(upload_id=multipart_id)
    return _orig_upload_part(self, bucket_name, multipart_id, *args, **kwargs)


def _cap_max_keys(method: Any) -> Any:
    def listing(self: S3Response) -> Any:
        max_keys = self.querystring.get("max-keys")
        if max_keys and max_keys[0].isdigit() and int(max_keys[0]) > _MAX_KEYS:
            self.querystring["max-keys"] = [str(_MAX_KEYS)]
        return method(self)

    return listing


_orig_want_form_data_parsed = BackendRequest.want_form_data_parsed


def _want_form_data_parsed(self: BackendRequest) -> bool:
    return self.method != "PUT" and _orig_want_form_data_parsed.fget(self)


S3Response._key_response = _key_response  # type: ignore[method-assign]
S3Response._bucket_response = _bucket_response  # type: ignore[method-assign]
S3Backend.upload_part = _upload_part  # type: ignore[method-assign]
BackendRequest.want_form_data_parsed = property(_want_form_data_parsed)  # type: ignore[assignment]
for _name in ("list_objects", "list_objects_v2", "list_object_versions"):
    setattr(S3Response, _name, _cap_max_keys(getattr(S3Response, _name)))

# Plain request log lines: werkzeug adds ANSI colours even when logging to a file.
werkzeug.serving._log_add_style = False

if __name__ == "__main__":
    server.main(sys.argv[1:])
