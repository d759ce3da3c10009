-- Jobs, their images and deliveries, and the per-user / per-guild tables later issues fill in.
-- Timestamps are Unix seconds (REAL). JSON columns hold text produced by json.dumps.

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    user_id INTEGER NOT NULL,
    guild_id INTEGER,
    channel_id INTEGER,
    prompt TEXT NOT NULL DEFAULT '',
    request TEXT NOT NULL,
    image_urls TEXT NOT NULL DEFAULT '[]',
    parent_id TEXT REFERENCES jobs (id) ON DELETE SET NULL,
    parent_index INTEGER,
    mode TEXT,
    speed TEXT NOT NULL DEFAULT 'fast',
    seeds TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    enqueued_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    gpu_seconds REAL NOT NULL DEFAULT 0,
    progress_message_id INTEGER,
    result_message_id INTEGER,
    delivered INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    meta TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX jobs_by_status ON jobs (status, enqueued_at);
CREATE INDEX jobs_by_user ON jobs (user_id, finished_at);
CREATE INDEX jobs_by_parent ON jobs (parent_id);

CREATE TABLE images (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    path TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    PRIMARY KEY (job_id, idx)
);

-- One row per (job, delivery handler) that has run to completion: a handler never runs twice.
CREATE TABLE job_deliveries (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    handler TEXT NOT NULL,
    delivered_at REAL NOT NULL,
    PRIMARY KEY (job_id, handler)
);

-- Messages a front posted for a job (progress, result, ...), to find the job from a message.
CREATE TABLE job_messages (
    message_id INTEGER PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    channel_id INTEGER,
    purpose TEXT NOT NULL
);
CREATE INDEX job_messages_by_job ON job_messages (job_id);

CREATE TABLE user_settings (
    user_id INTEGER PRIMARY KEY,
    remix INTEGER NOT NULL DEFAULT 0,
    variation_mode TEXT NOT NULL DEFAULT 'strong',
    stylize INTEGER,
    raw INTEGER NOT NULL DEFAULT 0,
    speed TEXT NOT NULL DEFAULT 'fast',
    model TEXT,
    suffix TEXT NOT NULL DEFAULT ''
);

CREATE TABLE user_options (
    user_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
);

CREATE TABLE guild_presets (
    guild_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    template TEXT NOT NULL,
    negative TEXT NOT NULL DEFAULT '',
    params TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (guild_id, name)
);

CREATE TABLE guild_settings (
    guild_id INTEGER PRIMARY KEY,
    default_style TEXT,
    max_jobs_per_user INTEGER,
    max_repeat INTEGER,
    allowed_channels TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE banned_words (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id INTEGER,
    word TEXT NOT NULL,
    added_by INTEGER,
    added_at REAL NOT NULL,
    removed_at REAL
);
CREATE INDEX banned_words_by_guild ON banned_words (guild_id, removed_at);
