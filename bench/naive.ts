// The naive baseline: a second install of the same app (a git clone, its own venv, plain units and a
// plain nginx site) that is deployed by `git pull` + `systemctl restart`, set up on the bench's server.
import type { TestServer } from "../scripts/lab/server.js";

export const NAIVE = {
  user: "naive",
  home: "/srv/naive",
  app: "/srv/naive/app",
  venv: "/srv/naive/venv",
  units: ["naive-api.service", "naive-web.service"],
  site: "/etc/nginx/sites-available/naive.conf",
  siteLink: "/etc/nginx/sites-enabled/naive.conf",
};

export const asNaive = (cmd: string) => `runuser -u ${NAIVE.user} -- env HOME=${NAIVE.home} ${cmd}`;

export function naiveUnit(service: "api" | "web"): string {
  const exec =
    service === "api"
      ? `${NAIVE.venv}/bin/uvicorn backend.main:app --host 127.0.0.1 --port 8000`
      : `${NAIVE.venv}/bin/streamlit run Home.py --server.port 8501 --server.address 127.0.0.1 --server.headless true`;
  return `# bench: the naive setup, one copy of the app restarted in place
[Unit]
Description=naive ${service}
After=network.target

[Service]
User=${NAIVE.user}
Group=${NAIVE.user}
WorkingDirectory=${NAIVE.app}
Environment=RF_COLOR=naive PYTHONUNBUFFERED=1 HOME=${NAIVE.home}
ExecStart=${exec}
Restart=on-failure

[Install]
WantedBy=multi-user.target
`;
}

export const NAIVE_SITE = `# bench: the naive setup's nginx site (the usual websocket proxying from the nginx docs)
map $http_upgrade $naive_connection_upgrade {
    default upgrade;
    ''      close;
}
server {
    listen 80 default_server;
    server_name _;

    location /api/ {
        proxy_pass http://127.0.0.1:8000;
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
    location / {
        proxy_pass http://127.0.0.1:8501;
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $naive_connection_upgrade;
        proxy_read_timeout 1d;
        proxy_buffering off;
    }
}
`;

/** Clone + venv while rf-agent still serves; returns timings. */
export async function prepareNaive(server: TestServer, pipArgs: string): Promise<{ cloneAndVenvMs: number }> {
  const start = Date.now();
  await server.sh(
    `set -euo pipefail
id ${NAIVE.user} >/dev/null 2>&1 || useradd --system --user-group --home-dir ${NAIVE.home} --shell /usr/sbin/nologin ${NAIVE.user}
mkdir -p ${NAIVE.home}
chown ${NAIVE.user}:${NAIVE.user} ${NAIVE.home}
${asNaive(`git clone -q -b main /srv/origin/app.git ${NAIVE.app}`)}
${asNaive(`python3 -m venv ${NAIVE.venv}`)}
${asNaive(`${NAIVE.venv}/bin/pip install -q ${pipArgs} -r ${NAIVE.app}/requirements.txt`)}`,
    { reject: true, timeoutMs: 600_000 },
  );
  return { cloneAndVenvMs: Date.now() - start };
}

/** Stops rf-agent's units, takes its nginx site out, and starts the naive units behind a plain site. */
export async function switchToNaive(server: TestServer, rfUnits: string[]): Promise<void> {
  await server.writeFile("/etc/systemd/system/naive-api.service", naiveUnit("api"));
  await server.writeFile("/etc/systemd/system/naive-web.service", naiveUnit("web"));
  await server.writeFile(NAIVE.site, NAIVE_SITE);
  await server.sh(
    `set -euo pipefail
systemctl stop ${rfUnits.join(" ")}
rm -f /etc/nginx/sites-enabled/rf-agent-demo.conf
ln -sfn ${NAIVE.site} ${NAIVE.siteLink}
systemctl daemon-reload
systemctl enable --now ${NAIVE.units.join(" ")}
nginx -t -q
systemctl reload nginx`,
    { reject: true },
  );
}
