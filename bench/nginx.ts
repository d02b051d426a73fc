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
