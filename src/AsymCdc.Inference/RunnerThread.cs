namespace AsymCdc.Inference;

/// <summary>
/// A thread of its own for one runner loop (Triton's model instance), as a <see cref="TaskScheduler"/>: the loop and every
/// continuation of its awaits run here, so a blocking session run never holds a thread-pool thread that Orleans messaging
/// needs, and the inference of a process is on named threads (<see cref="InferenceOptions.RunnerThreadName"/>) that
/// <c>top -H</c>, <c>perf</c> and a cgroup (the process cluster's emulated accelerator) can tell apart from its host work.
/// </summary>
internal sealed class RunnerThread : TaskScheduler, IDisposable
{
    private readonly Queue<Task> _tasks = new();
    private readonly Thread _thread;
    private bool _stopping;

    public RunnerThread()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = InferenceOptions.RunnerThreadName };
        _thread.Start();
    }

    /// <summary>Starts <paramref name="loop"/> on this thread; its awaits come back here (they must not use
    /// <c>ConfigureAwait(false)</c>).</summary>
    public Task Run(Func<Task> loop) =>
        Task.Factory.StartNew(loop, CancellationToken.None, TaskCreationOptions.DenyChildAttach, this).Unwrap();

    public override int MaximumConcurrencyLevel => 1;

    protected override void QueueTask(Task task)
    {
        lock (_tasks)
        {
            if (!_stopping)
            {
                _tasks.Enqueue(task);
                if (_tasks.Count == 1)
                {
                    Monitor.Pulse(_tasks); // the thread waits only on an empty queue
                }

                return;
            }
        }

        // Stopped: a late continuation (a window timer firing after the loop ended) still runs, on the pool.
        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Scheduler.TryExecuteTask(state.Task), (Scheduler: this, Task: task), preferLocal: false);
    }

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        Thread.CurrentThread == _thread && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks()
    {
        lock (_tasks)
        {
            return [.. _tasks];
        }
    }

    private void Loop()
    {
        while (true)
        {
            Task task;
            lock (_tasks)
            {
                while (_tasks.Count == 0)
                {
                    if (_stopping)
                    {
                        return;
                    }

                    Monitor.Wait(_tasks);
                }

                task = _tasks.Dequeue();
            }

            TryExecuteTask(task);
        }
    }

    /// <summary>Runs what is queued, then lets the thread end.</summary>
    public void Dispose()
    {
        lock (_tasks)
        {
            _stopping = true;
            Monitor.PulseAll(_tasks);
        }
    }
}
