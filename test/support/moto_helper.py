"""boto3/botocore side of the S3 tests (driven by test/support/moto.ts).

Commands (JSON on stdin where noted, JSON on stdout):
  check                      -> {"moto": version, "boto3": version}
  setup-auth ENDPOINT        -> create an IAM user with an allow-all policy and an access key
                                (3 requests: spend moto's INITIAL_NO_AUTH_ACTION_COUNT)
                                {"accessKeyId", "secretAccessKey"}
  assume-role ENDPOINT       stdin {"accessKeyId", "secretAccessKey"} (the IAM key): create a role with an
                             allow-all policy and assume it -> temporary
                             {"accessKeyId", "secretAccessKey", "sessionToken", "expiration"}
  put ENDPOINT               stdin {"region", "accessKeyId", "secretAccessKey", "bucket",
                                    "createBucket", "objects": [{"key", "dataBase64"}]}
                             -> {"etags": {key: etag}}
  list ENDPOINT              stdin {"region", "accessKeyId", "secretAccessKey", "bucket"}
                             -> {"keys": [key, ...]}  (every key, as S3 stored it)
  sign                       stdin {"requests": [{"method", "url", "headers", "body64",
                                    "accessKeyId", "secretAccessKey", "sessionToken",
                                    "region", "timestamp"}]}
                             -> {"signed": [{"authorization", "headers"}]}  (botocore S3SigV4Auth)
"""
import base64
import warnings
import datetime
import json
import sys


def client(service, endpoint, region, key_id, secret):
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        verify=False,  # moto --ssl serves a self-signed certificate; this is a local test server
    )


def check():
    import boto3
    import moto

    return {"moto": moto.__version__, "boto3": boto3.__version__}


def setup_auth(endpoint):
    iam = client("iam", endpoint, "us-east-1", "bootstrap", "bootstrap")
    iam.create_user(UserName="brr-test")
    iam.put_user_policy(
        UserName="brr-test",
        PolicyName="allow-all",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName="brr-test")["AccessKey"]
    return {"accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"]}


def assume_role(endpoint, spec):
    iam = client("iam", endpoint, "us-east-1", spec["accessKeyId"], spec["secretAccessKey"])
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    arn = iam.create_role(RoleName="brr-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="brr-role", PolicyName="allow-all", PolicyDocument=json.dumps(allow))
    sts = client("sts", endpoint, "us-east-1", spec["accessKeyId"], spec["secretAccessKey"])
    c = sts.assume_role(RoleArn=arn, RoleSessionName="brr-session")["Credentials"]
    return {
        "accessKeyId": c["AccessKeyId"],
        "secretAccessKey": c["SecretAccessKey"],
        "sessionToken": c["SessionToken"],
        "expiration": c["Expiration"].isoformat(),
    }


def put(endpoint, spec):
    s3 = client("s3", endpoint, spec["region"], spec["accessKeyId"], spec["secretAccessKey"])
    if spec.get("createBucket"):
        kwargs = {"Bucket": spec["bucket"]}
        if spec["region"] != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": spec["region"]}
        s3.create_bucket(**kwargs)
    etags = {}
    for obj in spec.get("objects", []):
        res = s3.put_object(Bucket=spec["bucket"], Key=obj["key"], Body=base64.b64decode(obj["dataBase64"]))
        etags[obj["key"]] = res["ETag"]
    return {"etags": etags}


def list_keys(endpoint, spec):
    s3 = client("s3", endpoint, spec["region"], spec["accessKeyId"], spec["secretAccessKey"])
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=spec["bucket"]):
        keys.extend(obj["Key"] for obj in page.get("Contents", []))
    return {"keys": keys}


def sign(spec):
    from unittest import mock

    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    out = []
    for r in spec["requests"]:
        creds = Credentials(r["accessKeyId"], r["secretAccessKey"], r.get("sessionToken"))
        body = base64.b64decode(r["body64"]) if r.get("body64") else b""
        req = AWSRequest(method=r["method"], url=r["url"], headers=r.get("headers") or {}, data=body)
        at = datetime.datetime.strptime(r["timestamp"], "%Y%m%dT%H%M%SZ")
        with mock.patch.object(botocore.auth, "get_current_datetime", return_value=at):
            botocore.auth.S3SigV4Auth(creds, "s3", r["region"]).add_auth(req)
        out.append({"authorization": req.headers["Authorization"], "headers": {k.lower(): v for k, v in req.headers.items()}})
    return {"signed": out}


def presign(spec):
    """Presigned URLs made by botocore's S3SigV4QueryAuth at a fixed time (to compare ours with)."""
    from unittest import mock

    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    out = []
    for r in spec["requests"]:
        creds = Credentials(r["accessKeyId"], r["secretAccessKey"], r.get("sessionToken"))
        req = AWSRequest(method=r.get("method", "GET"), url=r["url"], headers={})
        at = datetime.datetime.strptime(r["timestamp"], "%Y%m%dT%H%M%SZ")
        with mock.patch.object(botocore.auth, "get_current_datetime", return_value=at):
            botocore.auth.S3SigV4QueryAuth(creds, "s3", r["region"], expires=r["expires"]).add_auth(req)
        out.append(req.url)
    return {"urls": out}


def main():
    warnings.filterwarnings("ignore")  # urllib3 warns about verify=False on every request
    cmd = sys.argv[1]
    if cmd == "check":
        result = check()
    elif cmd == "setup-auth":
        result = setup_auth(sys.argv[2])
    elif cmd == "assume-role":
        result = assume_role(sys.argv[2], json.load(sys.stdin))
    elif cmd == "put":
        result = put(sys.argv[2], json.load(sys.stdin))
    elif cmd == "list":
        result = list_keys(sys.argv[2], json.load(sys.stdin))
    elif cmd == "sign":
        result = sign(json.load(sys.stdin))
    elif cmd == "presign":
        result = presign(json.load(sys.stdin))
    else:
        raise SystemExit(f"unknown command {cmd}")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
