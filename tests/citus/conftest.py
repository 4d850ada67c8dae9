"""The Citus suite runs only inside scripts/suites/65-citus.sh, which starts the cluster
and exports PGPORT (the coordinator), AGNO_CITUS_WORKERS and AGNO_CITUS_KEY_FILE."""
