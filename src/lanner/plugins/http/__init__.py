"""Kestra's HTTP tasks (`io.kestra.plugin.core.http.Request` and `…Download`) on httpx.

httpx is imported only when one of these tasks runs, so a flow without HTTP never pays for it.
"""
