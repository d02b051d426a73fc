import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Writes an nginx.conf for a benchmark run: one worker in the foreground, every path under `dir` (nginx runs
 * unprivileged there), no access log, and `http` holding the caller's upstreams and servers. Returns the
 * arguments that start it: `nginx ...nginxArgs(dir, http)`.
 */
export function nginxArgs(dir: string, http: string): string[] {
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  # TLS 1.3 like Node's default (Debian's NGINX offers only TLS 1.2 unless told), so both run the same handshake.
  ssl_protocols TLSv1.2 TLSv1.3;
${http}
}
`,
  )
  return ['-c', join(dir, 'nginx.conf'), '-p', dir]
}

/**
 * NGINX's side of forward-auth mode (docs/forward-auth.md shows this text): every request is first asked of
 * flink-guard (the NGINX upstream `guard`) by an auth_request subrequest that carries the client's headers and
 * names the request in X-Original-Method and X-Original-URI; an allowed request goes to the upstream `flink` as
 * the client sent it (proxy_pass without a URI part forwards the raw target flink-guard judged), with
 * flink-guard's identity headers and without the client's credentials. NGINX passes a 401's WWW-Authenticate on
 * by itself; X-Flink-Guard-Error says why a check refused.
 */
export function forwardAuthLocations(flink: string, guard: string): string {
  return `location / {
  auth_request /_flink_guard_check;
  auth_request_set $fg_user $upstream_http_x_forwarded_user;
  auth_request_set $fg_groups $upstream_http_x_forwarded_groups;
  auth_request_set $fg_error $upstream_http_x_flink_guard_error;
  add_header X-Flink-Guard-Error $fg_error always;
  proxy_set_header X-Forwarded-User $fg_user;
  proxy_set_header X-Forwarded-Groups $fg_groups;
  proxy_set_header Authorization "";
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_request_buffering off;
  client_max_body_size 0;
  proxy_pass http://${flink};
}
location = /_flink_guard_check {
  internal;
  proxy_pass http://${guard}/_flink-guard/auth;
  proxy_pass_request_body off;
  proxy_set_header Content-Length "";
  proxy_set_header X-Original-Method $request_method;
  proxy_set_header X-Original-URI $request_uri;
  proxy_set_header Host $host;
  proxy_set_header X-Forwarded-Host "";
  proxy_set_header X-Forwarded-For $remote_addr;
  proxy_http_version 1.1;
  proxy_set_header Connection "";
}
`
}
