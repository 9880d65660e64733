"""The asyncio runtime. Never imports Textual."""
