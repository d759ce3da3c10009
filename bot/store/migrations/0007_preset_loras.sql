-- Style presets may carry LoRAs with weights (issue 14): a JSON list of [name, weight] pairs,
-- names of files in models/loras/. Existing presets carry none.
ALTER TABLE guild_presets ADD COLUMN loras TEXT NOT NULL DEFAULT '[]';
