# What the erlmcp agent may read: KV v2 data paths only, no list, no write.
path "secret/data/database/erlmcp" {
  capabilities = ["read"]
}
path "secret/data/erlang/cookie" {
  capabilities = ["read"]
}
path "secret/data/auth/*" {
  capabilities = ["read"]
}
path "secret/data/cache/redis" {
  capabilities = ["read"]
}
# cheap change checks (KV v2 metadata)
path "secret/metadata/database/erlmcp" {
  capabilities = ["read"]
}
path "secret/metadata/erlang/cookie" {
  capabilities = ["read"]
}
path "secret/metadata/auth/*" {
  capabilities = ["read"]
}
path "secret/metadata/cache/redis" {
  capabilities = ["read"]
}
