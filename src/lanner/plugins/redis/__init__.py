"""Kestra's Redis tasks (`io.kestra.plugin.redis.string.*`, `io.kestra.plugin.redis.list.*`) on redis-py.

redis-py is imported only when one of these tasks runs, so a flow without Redis never pays for it.
"""
