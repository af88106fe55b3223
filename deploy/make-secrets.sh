#!/bin/sh
# Creates the secret files compose.yaml mounts (./secrets/), random and URL-safe.
# The directory is private (700); the files are 644 because compose bind-mounts them with
# their host permissions and the containers read them as non-root users.
# An existing file is kept: running it again never changes a password already in use.
#
#   deploy/make-secrets.sh [DIR]        # default: ./secrets next to compose.yaml
set -eu

dir=${1:-$(dirname "$0")/../secrets}
mkdir -p "$dir"
chmod 700 "$dir"
umask 022

random() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

put() {  # put NAME VALUE: write the file unless it exists
  if [ -s "$dir/$1" ]; then
    echo "kept    $dir/$1"
  else
    printf '%s\n' "$2" > "$dir/$1"
    echo "created $dir/$1"
  fi
}

for service in congress documents signing; do
  put "${service}_secret_key" "$(random 32)"
  put "${service}_nats_password" "$(random 24)"
  put "${service}_database_url" "postgresql+psycopg://${service}:$(random 24)@postgres:5432/${service}"
done
put nats_admin_password "$(random 24)"
put postgres_password "$(random 24)"
put admin_password "$(random 12)"
echo "The first administrator's password is in $dir/admin_password."
