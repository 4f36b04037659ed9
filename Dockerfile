# zstack-graphql container recipe. Two stages, exactly the sequence scripts/production-check.mjs
# runs in CI (that script reads this file and runs its steps; no Docker engine ran where it was
# written): build with dev dependencies, then a runtime folder of dist/ and the package files
# installed without them.
#
#   docker build -t zstack-graphql .
#   docker run -p 4000:4000 -e ZSTACK_URL=http://zstack:8080/zstack zstack-graphql
#
# GraphiQL's assets (@graphql-yoga/graphiql, ~260 MB with monaco and react) are an optional
# dependency left out here; build with --build-arg GRAPHIQL=true to keep the in-browser IDE.
#
# The base is pinned to one Node 24 LTS release, the same as .nvmrc and the Node CI runs the suite
# and this recipe on (.ci/run); scripts/production-check.mjs fails when the three differ. Move them
# together (and check https://github.com/nodejs/docker-node for the tag).

FROM node:24.22.3-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# The compiler needs the dev dependencies, not GraphiQL's optional ~250 MB. The npm cache is removed
# in the same layer (rm, not `npm cache clean --force`, which warns on every build).
RUN npm ci --omit=optional --no-audit --no-fund && rm -rf "$HOME/.npm"
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24.22.3-bookworm-slim AS runtime
ARG GRAPHIQL=false
# GraphiQL is off by default in production; an image built with its assets serves it.
ENV GRAPHIQL=${GRAPHIQL}
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN if [ "$GRAPHIQL" = "true" ]; then npm ci --omit=dev --no-audit --no-fund; else npm ci --omit=dev --omit=optional --no-audit --no-fund; fi && rm -rf "$HOME/.npm"
COPY --from=build /src/dist ./dist
# The official image's unprivileged user; nothing in /app is writable by it.
USER node
ENV PORT=4000
EXPOSE 4000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1 and handles SIGTERM/SIGINT itself (src/server.ts drains, then exits), so `docker
# stop` gets a graceful shutdown without an init.
CMD ["node", "dist/src/server.js"]
