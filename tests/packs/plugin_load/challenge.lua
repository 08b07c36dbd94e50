-- A pack for the plugin containment transcript: a plugin whose constructor writes a file, one
-- whose init crashes and one whose check leaves a daemon behind.
return challenge { name = "plugin-containment", level = "test", sources = { "postgres" } }
