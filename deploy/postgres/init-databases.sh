#!/bin/bash
# A role and a database per service, from the services' own database URLs.
#
# Run once by the postgres image on an empty data volume (compose.yaml mounts it in
# /docker-entrypoint-initdb.d/). Each secret /run/secrets/<service>_database_url holds
# postgresql+psycopg://<role>:<password>@postgres:5432/<database>, the URL that service
# connects with, so the password lives in one file only. Passwords must be URL-safe
# (deploy/make-secrets.sh makes hex ones). The role owns its database and nothing else.
set -euo pipefail

secrets=${SECRETS_DIR:-/run/secrets}
for service in congress documents signing; do
  file="${secrets}/${service}_database_url"
  if [ ! -f "$file" ]; then
    echo "init-databases: $file is missing" >&2
    exit 1
  fi
  url=$(cat "$file")
  rest=${url#*://}          # role:password@host:port/database?options
  userinfo=${rest%%@*}
  role=${userinfo%%:*}
  password=${userinfo#*:}
  database=${rest##*/}
  database=${database%%\?*}
  if [ -z "$role" ] || [ -z "$password" ] || [ "$password" = "$userinfo" ] || [ -z "$database" ]; then
    echo "init-databases: $file is not postgresql+psycopg://<role>:<password>@<host>/<database>" >&2
    exit 1
  fi
  echo "init-databases: role and database ${database} for ${service}"
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
       -v role="$role" -v password="$password" -v database="$database" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"database" OWNER :"role" ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
SQL
done
