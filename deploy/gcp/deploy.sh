#!/usr/bin/env bash
# cloud-monitor as a Cloud Function (gen2) on Google Cloud: every gcloud command, in order. Re-running it
# creates only what is missing and deploys the code again.
#
#   PROJECT=my-project REGION=europe-west1 BUCKETS="bucket-a bucket-b" deploy/gcp/deploy.sh
#   deploy/gcp/deploy.sh stage DIR      # only build the function's source folder (what gets uploaded)
#
# It sets up: Firestore (native mode) for the state, with TTL on expired detector state; one Pub/Sub topic that
# the buckets' notifications, an audit-log sink and a Cloud Scheduler tick (every minute) publish to; the
# function on that topic (an Eventarc trigger that retries, with a dead-letter topic after 5 attempts); a
# service account for the function that may use Firestore and read its one secret, nothing else; another for
# the trigger, which may only invoke the function.
#
# Settings (environment): PROJECT (required), REGION (europe-west1), NAME (cloud-monitor), BUCKETS (the
# buckets to watch, space-separated), CONFIG (deploy/gcp/monitor.yaml), RULES (rules/gcp), CHAT_SECRET
# (monitor-chat-urls: the Secret Manager secret holding the Apprise URLs; CHAT_URLS, when set, is stored in it).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
NAME=${NAME:-cloud-monitor}
REGION=${REGION:-europe-west1}
CONFIG=${CONFIG:-$HERE/monitor.yaml}
RULES=${RULES:-$ROOT/rules/gcp}
BUCKETS=${BUCKETS:-}
CHAT_SECRET=${CHAT_SECRET:-monitor-chat-urls}

stage() {  # main.py, the package and its templates, the config and rules, requirements.txt
  local dir=$1
  mkdir -p "$dir"
  cp "$HERE/main.py" "$dir/main.py"
  rm -rf "$dir/monitor" "$dir/alerts" "$dir/rules"
  cp -R "$ROOT/monitor" "$ROOT/alerts" "$dir/"
  find "$dir/monitor" -name __pycache__ -prune -exec rm -rf {} +
  cp "$CONFIG" "$dir/monitor.yaml"
  cp -R "$RULES" "$dir/rules"
  python3 - "$ROOT/pyproject.toml" >"$dir/requirements.txt" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["gcp-function"]))
PY
}

if [[ ${1:-} == stage ]]; then
  stage "${2:?usage: deploy.sh stage DIR}"
  exit 0
fi

: "${PROJECT:?set PROJECT to the Google Cloud project id}"
TOPIC=$NAME-events
DEAD_TOPIC=$NAME-dead-letters
SA=$NAME-function@$PROJECT.iam.gserviceaccount.com
TRIGGER_SA=$NAME-trigger@$PROJECT.iam.gserviceaccount.com
absent() { ! gcloud "$@" --project="$PROJECT" >/dev/null 2>&1; }  # `absent DESCRIBE... && CREATE...`

# 1. The APIs.
gcloud services enable cloudfunctions.googleapis.com run.googleapis.com cloudbuild.googleapis.com \
  artifactregistry.googleapis.com eventarc.googleapis.com pubsub.googleapis.com firestore.googleapis.com \
  cloudscheduler.googleapis.com logging.googleapis.com secretmanager.googleapis.com --project="$PROJECT"
PROJECT_NUMBER=$(gcloud projects describe "$PROJECT" --format='value(projectNumber)')
PUBSUB_AGENT=service-$PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com

# 2. Firestore in native mode; Firestore deletes detector state and journal parts once their expires_at passed.
absent firestore databases describe --database='(default)' &&
  gcloud firestore databases create --database='(default)' --location="$REGION" --type=firestore-native \
    --project="$PROJECT"
for group in cm_state cm_journal; do
  gcloud firestore fields ttls update expires_at --collection-group="$group" --enable-ttl --async \
    --project="$PROJECT"
done

# 3. Service accounts: the function's (Firestore, its secret) and the trigger's (invoke the function only).
absent iam service-accounts describe "$SA" &&
  gcloud iam service-accounts create "$NAME-function" --display-name="cloud-monitor function" --project="$PROJECT"
absent iam service-accounts describe "$TRIGGER_SA" &&
  gcloud iam service-accounts create "$NAME-trigger" --display-name="cloud-monitor trigger" --project="$PROJECT"
gcloud projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:$SA" --role=roles/datastore.user \
  --condition=None

# 4. The destinations' Apprise URLs in Secret Manager, readable by the function only.
absent secrets describe "$CHAT_SECRET" &&
  gcloud secrets create "$CHAT_SECRET" --replication-policy=automatic --project="$PROJECT"
if [[ -n ${CHAT_URLS:-} ]]; then
  printf '%s' "$CHAT_URLS" | gcloud secrets versions add "$CHAT_SECRET" --data-file=- --project="$PROJECT"
fi
gcloud secrets add-iam-policy-binding "$CHAT_SECRET" --member="serviceAccount:$SA" \
  --role=roles/secretmanager.secretAccessor --project="$PROJECT"

# 5. The topic everything publishes to, and the dead-letter topic with a subscription that keeps them 7 days.
absent pubsub topics describe "$TOPIC" && gcloud pubsub topics create "$TOPIC" --project="$PROJECT"
absent pubsub topics describe "$DEAD_TOPIC" && gcloud pubsub topics create "$DEAD_TOPIC" --project="$PROJECT"
absent pubsub subscriptions describe "$DEAD_TOPIC" &&
  gcloud pubsub subscriptions create "$DEAD_TOPIC" --topic="$DEAD_TOPIC" --message-retention-duration=7d \
    --project="$PROJECT"

# 6. Cloud Storage notifications (JSON_API_V1 payloads) from each bucket; its service agent may publish.
GCS_AGENT=$(gcloud storage service-agent --project="$PROJECT")
gcloud pubsub topics add-iam-policy-binding "$TOPIC" --member="serviceAccount:$GCS_AGENT" \
  --role=roles/pubsub.publisher --project="$PROJECT"
for bucket in $BUCKETS; do
  gcloud storage buckets notifications create "gs://$bucket" --topic="projects/$PROJECT/topics/$TOPIC" \
    --payload-format=json
done

# 7. Cloud Audit Logs (admin activity and, where enabled, data access) through a Log Router sink.
absent logging sinks describe "$NAME-audit" &&
  gcloud logging sinks create "$NAME-audit" "pubsub.googleapis.com/projects/$PROJECT/topics/$TOPIC" \
    --log-filter='logName:"cloudaudit.googleapis.com"' --project="$PROJECT"
WRITER=$(gcloud logging sinks describe "$NAME-audit" --format='value(writerIdentity)' --project="$PROJECT")
gcloud pubsub topics add-iam-policy-binding "$TOPIC" --member="$WRITER" --role=roles/pubsub.publisher \
  --project="$PROJECT"

# 8. The function: Python 3.12, entry point handle, on the topic, retried on failure (a store that failed).
SOURCE=$(mktemp -d)
trap 'rm -rf "$SOURCE"' EXIT
stage "$SOURCE"
gcloud functions deploy "$NAME" --gen2 --runtime=python312 --region="$REGION" --source="$SOURCE" \
  --entry-point=handle --trigger-topic="$TOPIC" --trigger-service-account="$TRIGGER_SA" --retry \
  --service-account="$SA" --no-allow-unauthenticated --memory=512Mi --timeout=120s --max-instances=10 \
  --set-env-vars="MONITOR_CONFIG=monitor.yaml,MONITOR_PROJECT=$PROJECT" \
  --set-secrets="CHAT_URLS=$CHAT_SECRET:latest" --project="$PROJECT"
gcloud functions add-invoker-policy-binding "$NAME" --region="$REGION" --member="serviceAccount:$TRIGGER_SA" \
  --project="$PROJECT"

# 9. What the trigger cannot deliver after 5 attempts goes to the dead-letter topic (Pub/Sub's agent moves it).
TRIGGER=$(gcloud functions describe "$NAME" --region="$REGION" --format='value(eventTrigger.trigger)' \
  --project="$PROJECT")
SUBSCRIPTION=$(gcloud eventarc triggers describe "$TRIGGER" --location="$REGION" \
  --format='value(transport.pubsub.subscription)' --project="$PROJECT")
gcloud pubsub subscriptions update "$SUBSCRIPTION" --dead-letter-topic="projects/$PROJECT/topics/$DEAD_TOPIC" \
  --max-delivery-attempts=5 --project="$PROJECT"
gcloud pubsub topics add-iam-policy-binding "$DEAD_TOPIC" --member="serviceAccount:$PUBSUB_AGENT" \
  --role=roles/pubsub.publisher --project="$PROJECT"
gcloud pubsub subscriptions add-iam-policy-binding "$SUBSCRIPTION" --member="serviceAccount:$PUBSUB_AGENT" \
  --role=roles/pubsub.subscriber --project="$PROJECT"

# 10. The clock: every minute a message with the attribute monitor=tick (group timers, absence, retries).
absent scheduler jobs describe "$NAME-tick" --location="$REGION" &&
  gcloud scheduler jobs create pubsub "$NAME-tick" --location="$REGION" --schedule='* * * * *' \
    --topic="projects/$PROJECT/topics/$TOPIC" --message-body=tick --attributes=monitor=tick --project="$PROJECT"

echo "deployed $NAME in $PROJECT ($REGION); dead letters: gcloud pubsub subscriptions pull $DEAD_TOPIC --project=$PROJECT"
