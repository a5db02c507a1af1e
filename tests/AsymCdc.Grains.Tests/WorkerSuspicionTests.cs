using System.Net;
using System.Reflection;
using System.Runtime.CompilerServices;
using AsymCdc.Abstractions;
using Orleans.Runtime;

namespace AsymCdc.Grains.Tests;

/// <summary>The fast failure detector for worker silos, on a hand-driven clock, with calls the test completes itself.</summary>
public sealed class WorkerSuspicionTests
{
    private static readonly TimeSpan Probation = TimeSpan.FromSeconds(2);
    private static readonly SiloAddress Dead = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11111), 1);
    private static readonly SiloAddress Alive = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11112), 1);
    private readonly ManualTime _time = new();
    private readonly WorkerSuspicion _suspicion;
    private readonly List<SiloAddress> _suspected = [];
    private readonly List<TimeSpan> _probations = [];

    public WorkerSuspicionTests()
    {
        _suspicion = new WorkerSuspicion(_time, Probation);
        _suspicion.Suspected += (silo, probation, _) => { _suspected.Add(silo); _probations.Add(probation); };
    }

    [Fact]
    public async Task A_rejected_call_releases_every_call_waiting_on_that_silo_at_once_and_no_other()
    {
        var waiting = new TaskCompletionSource<int>();
        var elsewhere = new TaskCompletionSource<int>();
        var stuck = _suspicion.Watch(Dead, waiting.Task);
        var unaffected = _suspicion.Watch(Alive, elsewhere.Task);

        var rejected = _suspicion.Watch(Dead, Task.FromException<int>(new SiloUnavailableException("connection refused")));

        await Assert.ThrowsAsync<SiloUnavailableException>(() => rejected);
        var released = await Assert.ThrowsAsync<PredictionException>(() => stuck);
        Assert.Equal(PredictionErrorCode.Unavailable, released.Code);
        Assert.True(released.IsRetryable);
        Assert.Contains(Dead.ToString(), released.Message, StringComparison.Ordinal);
        Assert.False(unaffected.IsCompleted);
        Assert.True(_suspicion.IsSuspected(Dead));
        Assert.False(_suspicion.IsSuspected(Alive));
        Assert.Equal([Dead], _suspected);

        elsewhere.SetResult(7);
        Assert.Equal(7, await unaffected);
        waiting.SetException(new SiloUnavailableException("late")); // the released call's own end is observed, not rethrown
    }

    [Fact]
    public async Task A_call_to_a_suspect_fails_at_once_until_the_probation_ends()
    {
        _suspicion.ReportUnreachable(Dead, new SiloUnavailableException("gone"));
        var never = new TaskCompletionSource<int>();

        await Assert.ThrowsAsync<PredictionException>(() => _suspicion.Watch(Dead, never.Task));

        _time.Advance(Probation);
        Assert.False(_suspicion.IsSuspected(Dead));
        var retried = _suspicion.Watch(Dead, never.Task);
        Assert.False(retried.IsCompleted);
        never.SetResult(1);
        Assert.Equal(1, await retried);
    }

    [Fact]
    public async Task An_answer_clears_the_suspicion_and_a_new_rejection_after_probation_raises_it_again()
    {
        _suspicion.ReportUnreachable(Dead, new SiloUnavailableException("blip"));
        _suspicion.ReportUnreachable(Dead, new SiloUnavailableException("same outage"));
        Assert.Single(_suspected); // a renewal within the probation is not a new suspicion

        Assert.Equal(3, await _suspicion.Watch(Dead, Task.FromResult(3)));
        Assert.False(_suspicion.IsSuspected(Dead));
        Assert.Equal(0, _suspicion.Count);

        _suspicion.ReportUnreachable(Dead, new SiloUnavailableException("again"));
        Assert.Equal(2, _suspected.Count);
        Assert.Equal(1, _suspicion.Count);
    }

    [Fact]
    public async Task An_answer_to_a_call_sent_before_the_suspicion_does_not_clear_it()
    {
        // A backlog: calls out to the silo before it refused one (a leaving silo finishing its calls, a frozen one thawing).
        var backlog = new TaskCompletionSource<int>();
        var released = _suspicion.Watch(Dead, backlog.Task);
        var before = _time.GetTimestamp();
        _time.Advance(TimeSpan.FromMilliseconds(10));
        _suspicion.ReportUnreachable(Dead, new SiloUnavailableException("refused"));
        await Assert.ThrowsAsync<PredictionException>(() => released);

        backlog.SetResult(1); // the released call answers after all
        Assert.True(_suspicion.IsSuspected(Dead));
        _suspicion.Answered(Dead, before);
        Assert.True(_suspicion.IsSuspected(Dead));

        // A call sent since the suspicion began (a pick short of other silos) is released at once, and its late answer
        // shows the silo takes new calls.
        var since = new TaskCompletionSource<int>();
        await Assert.ThrowsAsync<PredictionException>(() => _suspicion.Watch(Dead, since.Task));
        Assert.True(_suspicion.IsSuspected(Dead));
        since.SetResult(2);
        Assert.False(_suspicion.IsSuspected(Dead));
    }

    [Fact]
    public async Task A_silo_rejected_again_right_after_its_probation_is_left_alone_twice_as_long_until_it_answers()
    {
        _suspicion.ReportUnreachable(Dead, new SiloUnavailableException("crashed"));
        for (var strike = 2; strike <= 5; strike++)
        {
            _time.Advance(_probations[^1]);
            Assert.False(_suspicion.IsSuspected(Dead)); // tried again after each probation...
            _suspicion.ReportUnreachable(Dead, new SiloUnavailableException("still gone")); // ...and refused again
        }

        // 2 s, 4 s, 8 s, then capped at 8 x 2 s.
        Assert.Equal([Probation, Probation * 2, Probation * 4, Probation * 8, Probation * 8], _probations);
        _time.Advance(Probation * 8 - TimeSpan.FromMilliseconds(1));
        Assert.True(_suspicion.IsSuspected(Dead));

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(4, await _suspicion.Watch(Dead, Task.FromResult(4))); // it answers: the strikes are forgotten
        _suspicion.ReportUnreachable(Dead, new SiloUnavailableException("a new outage"));
        Assert.Equal(Probation, _probations[^1]);
    }

    [Fact]
    public async Task Failures_that_are_not_message_rejections_do_not_make_a_suspect()
    {
        var invalid = new PredictionException(PredictionErrorCode.InvalidInput, "bad input");
        await Assert.ThrowsAsync<PredictionException>(() => _suspicion.Watch(Dead, Task.FromException<int>(invalid)));
        await Assert.ThrowsAsync<TimeoutException>(() => _suspicion.Watch(Dead, Task.FromException<int>(new TimeoutException())));

        Assert.False(_suspicion.IsSuspected(Dead));
        Assert.Empty(_suspected);
    }

    [Fact]
    public async Task A_rejection_that_names_another_silo_does_not_make_the_called_silo_a_suspect()
    {
        // A placement step needed the directory partition on a dead third silo: the called silo itself is fine.
        var aboutAnother = Rejection($"Exception while sending message: Unable to connect to {Alive}, will retry after 900ms");
        var aboutThis = Rejection($"Exception while sending message: Unable to connect to endpoint {Dead}. See InnerException");

        await Assert.ThrowsAsync<OrleansMessageRejectionException>(() => _suspicion.Watch(Dead, Task.FromException<int>(aboutAnother)));
        Assert.False(_suspicion.IsSuspected(Dead));
        Assert.False(_suspicion.IsSuspected(Alive));

        await Assert.ThrowsAsync<OrleansMessageRejectionException>(() => _suspicion.Watch(Dead, Task.FromException<int>(aboutThis)));
        Assert.True(_suspicion.IsSuspected(Dead));
    }

    /// <summary>Orleans creates these itself (the constructor is internal); the message is what it would say.</summary>
    private static OrleansMessageRejectionException Rejection(string message) =>
        (OrleansMessageRejectionException)Activator.CreateInstance(typeof(OrleansMessageRejectionException),
            BindingFlags.Instance | BindingFlags.NonPublic, binder: null, [message], culture: null)!;

    [Fact]
    public async Task Forgetting_a_silo_that_left_membership_releases_its_calls_and_drops_its_state()
    {
        var waiting = _suspicion.Watch(Dead, new TaskCompletionSource<int>().Task);
        Assert.Contains(Dead, _suspicion.Known);

        _suspicion.Forget(Dead);

        await Assert.ThrowsAsync<PredictionException>(() => waiting);
        Assert.DoesNotContain(Dead, _suspicion.Known);
    }

    [Fact]
    public void Asking_while_nobody_is_suspected_allocates_nothing()
    {
        // Every parity group asks when it picks its silos: the common case must cost nothing. The loop is compiled
        // optimized at its first call (the warm-up), so no tiering or on-stack replacement runs while it is measured (a
        // clean clone's first run once counted 65 KB of that to this thread).
        _ = Ask(_suspicion, 1);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var seen = Ask(_suspicion, 10_000);

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(0, seen);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Ask(WorkerSuspicion suspicion, int times)
    {
        var seen = 0;
        for (var i = 0; i < times; i++)
        {
            seen += suspicion.Count + (suspicion.IsSuspected(Dead) ? 1 : 0);
        }

        return seen;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_probation_that_is_not_positive_is_refused(int seconds)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new WorkerSuspicion(_time, TimeSpan.FromSeconds(seconds)));
        Assert.Contains("probation", e.Message, StringComparison.Ordinal);
    }
}
