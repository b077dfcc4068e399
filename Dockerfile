# syntax=docker/dockerfile:1
# contact-orchestrator: build with the dev toolchain, run on a slim image as the unprivileged `node` user.
# One argument picks the Node.js line of every stage: a supported LTS (24 or 26), e.g. --build-arg NODE_VERSION=26.
ARG NODE_VERSION=24

# ---- toolchain: Debian packages only (python3, make, g++), for better-sqlite3 when no prebuilt addon fits
FROM node:${NODE_VERSION}-trixie-slim AS toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

# ---- build: every dependency, the production build (tsconfig.build.json), then the dev dependencies dropped and
# what the service never reads at runtime pruned from the rest (better-sqlite3's build leftovers, the TypeScript
# compiler, source maps, type declarations, docs: scripts/containers/prune-runtime-modules.mjs lists them)
FROM toolchain AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci's postinstall patches better-sqlite3 12 for Node 24+ and rebuilds it (docs/decisions.md)
COPY scripts/native ./scripts/native
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && node scripts/containers/prune-runtime-modules.mjs node_modules

# ---- runtime: package.json, production node_modules and dist only
FROM node:${NODE_VERSION}-trixie-slim AS runtime
# NODE_OPTIONS: a smaller young generation keeps the resident memory of a loaded service ~30 MB lower at the
# same throughput (measured in npm run bench); npm start and the test harness run the service the same way.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data \
    LOG_LEVEL=info \
    NODE_OPTIONS="--max-semi-space-size=8 --max-old-space-size=160"
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=6 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/apps/orchestrator/src/main.js"]
