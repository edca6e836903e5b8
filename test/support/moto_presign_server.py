"""moto_server whose auth mode also checks SigV4 query-string signatures (presigned URLs).

moto 5.2's IAM check reads the signature from the Authorization header only: a presigned URL (no
Authorization header, the signature in X-Amz-Signature) fails inside moto with KeyError
'Authorization' (500), and its S3 layer never verifies query signatures otherwise. This launcher
teaches the check the query form, and the signature is recomputed by botocore's own
S3SigV4QueryAuth (the reference implementation) with the key's secret, at the URL's X-Amz-Date:
a wrong signature is 403 SignatureDoesNotMatch, an expired URL 403 AccessDenied, as on S3.
Header-signed requests go through moto's own check unchanged.

Usage: python3 moto_presign_server.py -H 127.0.0.1 -p PORT   (the arguments of moto.server)
"""
import datetime
import sys
from unittest import mock
from urllib.parse import parse_qs, quote, urlencode, urlparse

import botocore.auth
from botocore.awsrequest import AWSRequest
from moto.iam import access_control as ac
from moto.server import main

QUERY_AUTH_PARAMS = {
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
}

original_init = ac.IAMRequestBase.__init__
original_check = ac.IAMRequestBase.check_signature


def query_auth(path):
    q = parse_qs(urlparse(path).query, keep_blank_values=True)
    return q if "X-Amz-Signature" in q and "X-Amz-Credential" in q else None


def patched_init(self, account_id, method, path, data, body, headers, action):
    q = query_auth(path) if "Authorization" not in headers else None
    self._query_auth = q
    if q:
        # The base class finds the key and the credential scope in an Authorization header.
        headers = dict(headers)
        if "X-Amz-Security-Token" in q:
            headers["X-Amz-Security-Token"] = q["X-Amz-Security-Token"][0]
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={q['X-Amz-Credential'][0]}, "
            f"SignedHeaders={q['X-Amz-SignedHeaders'][0]}, Signature={q['X-Amz-Signature'][0]}"
        )
    original_init(self, account_id, method, path, data, body, headers, action)


def patched_check(self):
    q = self._query_auth
    if not q:
        return original_check(self)
    at = datetime.datetime.strptime(q["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")
    expires = int(q["X-Amz-Expires"][0])
    if datetime.datetime.utcnow() > at + datetime.timedelta(seconds=expires):
        self._raise_access_denied()
    parsed = urlparse(self._path)
    rest = [(k, v) for k, vs in parse_qs(parsed.query, keep_blank_values=True).items() if k not in QUERY_AUTH_PARAMS for v in vs]
    url = f"http://{self._headers.get('Host')}{parsed.path}" + ("?" + urlencode(rest, quote_via=quote) if rest else "")
    signed = q["X-Amz-SignedHeaders"][0].split(";")
    headers = {k: v for k, v in self._headers.items() if k.lower() in signed}
    req = AWSRequest(method=self._method, url=url, headers=headers)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=at):
        botocore.auth.S3SigV4QueryAuth(self._access_key.create_credentials(), "s3", self._region, expires=expires).add_auth(req)
    if parse_qs(urlparse(req.url).query)["X-Amz-Signature"][0] != q["X-Amz-Signature"][0]:
        self._raise_signature_does_not_match()


ac.IAMRequestBase.__init__ = patched_init
ac.IAMRequestBase.check_signature = patched_check

if __name__ == "__main__":
    main(sys.argv[1:])
