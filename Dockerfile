# syntax=docker/dockerfile:1.7
# The driftwatch consumer: `driftwatch run` on Node.js 24 LTS. The TypeScript sources run through tsx (a runtime
# dependency), so there is no build step: the image is the production install plus the sources.
# Build: docker build -t driftwatch .   Run: docker run --env-file driftwatch.env driftwatch   (see README)
ARG NODE_IMAGE=node:24-bookworm-slim

# 1. Production dependencies only. The infra/aws workspace (CDK) has only dev dependencies: --omit=dev leaves it out.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY infra/aws/package.json infra/aws/package.json
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# 2. The runtime: sources + node_modules, non-root, read-only friendly (tsx caches in /tmp).
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    DRIFTWATCH_METRICS_PORT=9464 \
    DRIFTWATCH_METRICS_HOST=0.0.0.0 \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/rds-global-bundle.pem
# Amazon RDS/Aurora certificates are not in Node's CA store: trusted here so DATABASE_URL can use sslmode=verify-full.
ADD --chmod=644 https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem /etc/ssl/certs/rds-global-bundle.pem
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root package.json package-lock.json ./
COPY --chown=root:root bin ./bin
COPY --chown=root:root schemas ./schemas
COPY --chown=root:root stages ./stages
COPY --chown=root:root pipeline ./pipeline
# The image's built-in unprivileged user; the sources stay owned by root, so the process cannot change them.
USER node
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.DRIFTWATCH_METRICS_PORT || 9464) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/driftwatch.mjs"]
CMD ["run"]
