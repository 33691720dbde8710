#!/bin/sh
# Entry point of the nginx-unprivileged stand-in (tests/e2e/images/nginx). Like the upstream
# image's /docker-entrypoint.sh with its 20-envsubst-on-templates.sh, and only that step: when
# the command is nginx, each $NGINX_ENVSUBST_TEMPLATE_DIR/*$NGINX_ENVSUBST_TEMPLATE_SUFFIX is
# rendered into $NGINX_ENVSUBST_OUTPUT_DIR with envsubst, replacing only the variables that are
# set (so nginx's own $host, $uri... stay), then the command runs as PID 1.
set -eu

case "${1:-}" in
nginx | nginx-debug)
    template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
    suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
    output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
    filter="${NGINX_ENVSUBST_FILTER:-}"
    # "${A} ${B} ..." for every variable set in the environment (matching the filter).
    defined_envs=$(printf '${%s} ' $(awk "END { for (name in ENVIRON) { print ( name ~ /${filter}/ ) ? name : \"\" } }" </dev/null))
    if [ -d "$template_dir" ]; then
        if [ ! -w "$output_dir" ]; then
            echo "$0: ERROR: $output_dir is not writable" >&2
            exit 1
        fi
        for template in "$template_dir"/*"$suffix"; do
            [ -f "$template" ] || continue
            name="$(basename "$template" "$suffix")"
            echo "$0: rendering $template to $output_dir/$name"
            envsubst "$defined_envs" <"$template" >"$output_dir/$name"
        done
    fi
    echo "$0: configuration complete; ready for start up"
    ;;
esac

exec "$@"
