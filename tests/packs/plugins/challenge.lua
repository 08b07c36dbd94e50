-- A pack for the plugin isolation transcript: plugins that crash, hang, exit or have the wrong
-- ABI must each become an error result while the checks around them still run.
return challenge { name = "plugin-isolation", level = "test", sources = { "postgres" } }
