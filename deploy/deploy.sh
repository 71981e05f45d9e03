#!/usr/bin/env bash
# Deploy both stacks with the AWS CLI: stack 1 (artifact bucket), upload dist/, stack 2.
#   deploy/deploy.sh STACK PARAMETERS_JSON
# PARAMETERS_JSON is a flat {"Name": "value"} file of stack 2's parameters (see
# deploy/parameters.example.json); the artifact bucket and artifact keys are filled in here.
set -euo pipefail
stack="${1:?stack name}"
params="${2:?parameters file}"
here="$(cd "$(dirname "$0")/.." && pwd)"
dist="${DIST:-$here/dist}"
python="${PYTHON:-python3}"

[ -f "$params" ] || { echo "no parameters file $params: copy deploy/parameters.example.json and fill it in" >&2; exit 1; }
[ -f "$dist/manifest.json" ] || { echo "no $dist/manifest.json: run 'make package' first" >&2; exit 1; }

# Both stacks take the file's NamePrefix (physical names derive from it), or the templates' default.
prefix="$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1])).get("NamePrefix", ""))' "$params")"
prefix_override=()
[ -z "$prefix" ] || prefix_override=(--parameter-overrides "NamePrefix=$prefix")

# Stack 1 creates the artifact bucket, so it goes inline (a body up to 51,200 bytes).
aws cloudformation deploy \
  --stack-name "$stack-artifacts" \
  --template-file "$here/cf_templates/cf_app_infra_stack_1.yml" \
  --no-fail-on-empty-changeset \
  "${prefix_override[@]}"

artifacts="$(aws cloudformation describe-stacks --stack-name "$stack-artifacts" \
  --query "Stacks[0].Outputs[?OutputKey=='ArtifactBucketName'].OutputValue" --output text)"
aws s3 cp "$dist/" "s3://$artifacts/" --recursive --exclude manifest.json --only-show-errors

# Key=Value pairs: the parameters file, then the artifact bucket and the content-addressed keys.
mapfile -t overrides < <("$python" - "$params" "$dist/manifest.json" "$artifacts" <<'PY'
import json, sys
params = json.load(open(sys.argv[1]))
params.update(json.load(open(sys.argv[2])))
params["ArtifactBucketName"] = sys.argv[3]
for name, value in params.items():
    print(f"{name}={value}")
PY
)

# Stack 2 goes through the artifact bucket: an inline template body is limited to 51,200 bytes,
# one CloudFormation reads from S3 may be far larger.
aws cloudformation deploy \
  --stack-name "$stack" \
  --template-file "$here/cf_templates/cf_app_infra_stack_2.yml" \
  --s3-bucket "$artifacts" \
  --s3-prefix cloudformation \
  --capabilities CAPABILITY_IAM \
  --no-fail-on-empty-changeset \
  --parameter-overrides "${overrides[@]}"

aws cloudformation describe-stacks --stack-name "$stack" --query "Stacks[0].Outputs" --output table
