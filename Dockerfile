# mailplane: API and workers in one image (choose the role with the command).
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only. Embedded PostgreSQL is for development machines:
# a container is given DATABASE_URL.
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 MAILPLANE_DATA_DIR=/var/lib/mailplane
WORKDIR /app
# restic: retention, `restic check` and restore drills run here, with the admin key no server holds.
RUN apt-get update && apt-get install -y --no-install-recommends restic ca-certificates && rm -rf /var/lib/apt/lists/*
RUN groupadd --system mailplane && useradd --system --gid mailplane --home /var/lib/mailplane mailplane \
  && mkdir -p /var/lib/mailplane && chown mailplane:mailplane /var/lib/mailplane
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY provisioning ./provisioning
COPY templates ./templates
COPY migrations ./migrations
USER mailplane
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "src/main.ts"]
CMD ["all"]
