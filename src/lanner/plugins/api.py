"""The plugin API: the names a plugin imports to define a task and talk to the world.

The classes themselves live in `lanner.model.task`, below the flow model that is built from
them (so `model` never imports `plugins`); this module is the stable place plugins, the worker
and the engine import them from.
"""

from __future__ import annotations

from lanner.model.task import (
    Again,
    ExecutionEffect,
    ExecutionTask,
    FlowableTask,
    Group,
    IterationEnd,
    LogLevel,
    Output,
    OutputDoc,
    Resolution,
    RunContext,
    RunnableTask,
    Stop,
    Task,
    TaskFailure,
    TaskLogger,
    output_docs,
)

__all__ = [
    "Again",
    "ExecutionEffect",
    "ExecutionTask",
    "FlowableTask",
    "Group",
    "IterationEnd",
    "LogLevel",
    "Output",
    "OutputDoc",
    "Resolution",
    "RunContext",
    "RunnableTask",
    "Stop",
    "Task",
    "TaskFailure",
    "TaskLogger",
    "output_docs",
]
