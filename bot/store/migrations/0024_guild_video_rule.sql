-- Video (issue 21): whether a server allows video jobs: 'allowed', 'relax' (relax mode only) or 'off'.
ALTER TABLE guild_settings ADD COLUMN video TEXT NOT NULL DEFAULT 'allowed';
