#!/usr/bin/env python3
"""Runs `irsa-webhook policy` for every golden case and hands each printed document to IAM's
CreateRole + UpdateAssumeRolePolicy (trust) or CreatePolicy (S3) as implemented by moto, whose MalformedPolicyDocument
validators copy IAM's: the closest offline check of "accepted as-is by aws iam create-role
--assume-role-policy-document file://... / aws iam create-policy". Everything stays in-process
(moto intercepts botocore); no network.

Usage: validate_with_moto.py IRSA_WEBHOOK_BINARY CASES_DIR
Exit 0 all accepted, 1 a document refused (or a known-bad control accepted), 77 moto missing.
"""
import json
import os
import pathlib
import subprocess
import sys

try:
    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"skipped: {e} (pip install moto boto3)")
    sys.exit(77)

# Documents IAM refuses, so the check itself is proven to bite.
BAD_CONTROLS = {
    "trust": [
        {"Version": "2021-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/x.example.com"}, "Action": "sts:AssumeRoleWithWebIdentity"}]},
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/x.example.com"}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquls": {"x.example.com:aud": "sts.amazonaws.com"}}}]},
    ],
    "s3": [
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:us-east-1::bucket/*"}]},
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]},
    ],
}


def case_args(case: pathlib.Path) -> list:
    args = [line for line in (case / "args").read_text().splitlines() if line and not line.startswith("#")]
    if (case / "config.yaml").exists():
        args += ["--config", str(case / "config.yaml")]
    return args


def main() -> int:
    binary, cases_dir = sys.argv[1], pathlib.Path(sys.argv[2])
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    passed = failed = 0
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        counter = 0

        def submit(kind: str, text: str) -> None:
            nonlocal counter
            counter += 1
            if kind == "trust":
                # moto validates trust documents in UpdateAssumeRolePolicy (IAM does in both).
                iam.create_role(RoleName=f"golden-{counter}", AssumeRolePolicyDocument=text)
                iam.update_assume_role_policy(RoleName=f"golden-{counter}", PolicyDocument=text)
            else:
                iam.create_policy(PolicyName=f"golden-{counter}", PolicyDocument=text)

        for case in sorted(p for p in cases_dir.iterdir() if (p / "args").exists()):
            args = case_args(case)
            run = subprocess.run([binary, "policy", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if run.returncode != 0:
                print(f"FAIL {case.name}: exit {run.returncode}: {run.stderr.strip()}")
                failed += 1
                continue
            printed = json.loads(run.stdout)
            kind = args[0]
            # One document: submit stdout byte for byte, as file://stdout would be read.
            texts = [run.stdout] if kind == "s3" or "Version" in printed else [json.dumps(d, indent=2) for d in printed.values()]
            try:
                for text in texts:
                    submit(kind, text)
                print(f"ok   {case.name} ({len(texts)} document{'s' if len(texts) > 1 else ''})")
                passed += 1
            except ClientError as e:
                print(f"FAIL {case.name}: {e}")
                failed += 1

        for kind, controls in BAD_CONTROLS.items():
            for i, control in enumerate(controls):
                try:
                    submit(kind, json.dumps(control))
                    print(f"FAIL control {kind}-{i}: a malformed document was accepted; the check does not bite")
                    failed += 1
                except ClientError:
                    passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
