namespace AsymCdc.Inference.Tests;

public sealed class RunnerThreadTests
{
    [Fact]
    public async Task A_loop_and_every_continuation_of_its_awaits_run_on_the_named_runner_thread()
    {
        using var runner = new RunnerThread();
        var resumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var threads = new List<(int Id, string? Name)>();

        var loop = runner.Run(async () =>
        {
            threads.Add((Environment.CurrentManagedThreadId, Thread.CurrentThread.Name));
            await resumed.Task; // completed from a pool thread below
            threads.Add((Environment.CurrentManagedThreadId, Thread.CurrentThread.Name));
            await Task.Yield();
            threads.Add((Environment.CurrentManagedThreadId, Thread.CurrentThread.Name));
            await Task.Delay(1); // a timer's continuation
            threads.Add((Environment.CurrentManagedThreadId, Thread.CurrentThread.Name));
        });
        await Task.Run(resumed.SetResult);
        await loop;

        Assert.Equal(4, threads.Count);
        Assert.All(threads, t => Assert.Equal(InferenceOptions.RunnerThreadName, t.Name));
        Assert.Single(threads.Select(t => t.Id).Distinct());
        Assert.NotEqual(Environment.CurrentManagedThreadId, threads[0].Id);
    }

    [Fact]
    public async Task A_continuation_queued_after_dispose_still_runs()
    {
        var runner = new RunnerThread();
        var resumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loop = runner.Run(async () => await resumed.Task);

        runner.Dispose();
        resumed.SetResult();

        await loop; // on the pool: a stopped runner drops nothing
        Assert.True(loop.IsCompletedSuccessfully);
    }
}
