-- What else a recorded interaction asked for, beyond its command and prompt (JSON): the button
-- and job it came from, attachments, a region's cells (bot/discord/pending.py). Every
-- job-making interaction is recorded, not only /imagine.
ALTER TABLE pending_interactions ADD COLUMN details TEXT NOT NULL DEFAULT '{}';
