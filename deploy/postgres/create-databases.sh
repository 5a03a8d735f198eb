#!/bin/sh
# Runs once, when the postgres container initialises an empty volume: one database
# per service that owns tables, all owned by POSTGRES_USER.
set -eu
for db in catalog registry engine; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -c "CREATE DATABASE $db OWNER \"$POSTGRES_USER\""
done
