using AsymCdc.Serving;

namespace AsymCdc.Serving.Tests;

public class StrategyTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMilliseconds(50);

    private static ServingStrategy<int, Reply> Create(string mode, FakeHost host, int k = 2, ReconstructionTrigger? trigger = null) =>
        ServingStrategies.Create(mode, new StrategySettings(k, 4, TimeSpan.FromMilliseconds(5), 0.95, Deadline, FirstGroupId: 100),
            host, host, trigger ?? ReconstructionTrigger.Fixed(Deadline));

    [Fact]
    public void None_sends_one_call_and_answers_with_it()
    {
        var host = new FakeHost();
        var query = FakeHost.Query(7);
        Create("none", host).Submit(query);
        Assert.Equal([CallRole.Data], host.Calls.Select(c => c.Role));
        Assert.False(query.IsDone);
        host.Answer(0);
        Assert.Equal((7f, AnswerPath.Direct), (query.Answer!.Value, query.Path));
        Assert.Equal(host.Calls[0].Worker, query.AnsweredBy);
    }

    [Fact]
    public void None_passes_a_failed_call_through_as_the_answer()
    {
        var host = new FakeHost();
        var query = FakeHost.Query(7);
        Create("none", host).Submit(query);
        host.Fail(0);
        Assert.True(query.Failure!.CauseIsTheAnswer);
        Assert.Contains("every worker call of this none query failed", query.Failure.Message);
    }

    [Fact]
    public void Replication_sends_two_copies_to_distinct_workers_and_the_first_answer_wins()
    {
        var host = new FakeHost();
        var query = FakeHost.Query(3);
        Create("replication", host).Submit(query);
        Assert.Equal([CallRole.Data, CallRole.Replica], host.Calls.Select(c => c.Role));
        Assert.NotEqual(host.Calls[0].Worker, host.Calls[1].Worker);
        host.Fail(0);
        Assert.False(query.IsDone);
        host.Answer(1);
        Assert.Equal(AnswerPath.Backup, query.Path);
    }

    [Fact]
    public void Replication_fails_only_when_both_copies_failed()
    {
        var host = new FakeHost();
        var query = FakeHost.Query(3);
        Create("replication", host).Submit(query);
        host.Fail(1);
        Assert.False(query.IsDone);
        host.Fail(0);
        Assert.NotNull(query.Failure);
    }

    [Fact]
    public void Hedged_sends_a_backup_only_after_the_delay_and_takes_the_first_answer()
    {
        var host = new FakeHost();
        var query = FakeHost.Query(1);
        Create("hedged", host).Submit(query);
        host.Advance(Deadline.TotalMilliseconds - 1);
        Assert.Single(host.Calls);
        host.Advance(1);
        Assert.Equal([CallRole.Data, CallRole.Hedge], host.Calls.Select(c => c.Role));
        Assert.Equal(1, host.Stragglers);
        host.Answer(1);
        Assert.Equal(AnswerPath.Backup, query.Path);
        host.Answer(0); // the late primary changes nothing
        Assert.Equal(AnswerPath.Backup, query.Path);
    }

    [Fact]
    public void Hedged_sends_no_backup_when_the_primary_answers_in_time_and_learns_its_delay_from_answers()
    {
        var host = new FakeHost();
        var strategy = (HedgedStrategy<int, Reply>)Create("hedged", host);
        Assert.Equal(Deadline, strategy.HedgeDelay);
        for (var i = 0; i < 40; i++)
        {
            // Each answer comes sooner than the last, so always before the learned p95.
            var query = FakeHost.Query(i);
            strategy.Submit(query);
            host.Advance(3 - (i * 0.05));
            host.Answer(host.Calls.Count - 1);
            Assert.Equal(AnswerPath.Direct, query.Path);
        }

        host.Advance(100);
        Assert.All(host.Calls, c => Assert.Equal(CallRole.Data, c.Role));
        Assert.InRange(strategy.HedgeDelay.TotalMilliseconds, 2.85, 2.99); // a high percentile of 1.05..3 ms, not the 50 ms start
    }

    [Fact]
    public void Hedged_hedges_a_failed_primary_at_once()
    {
        var host = new FakeHost();
        var query = FakeHost.Query(1);
        Create("hedged", host).Submit(query);
        host.Fail(0);
        Assert.Equal(CallRole.Hedge, host.Calls[1].Role);
        host.Fail(1);
        Assert.NotNull(query.Failure);
    }

    [Fact]
    public void A_full_group_sends_its_parity_at_once_with_the_mean_of_its_members_on_a_kplus1th_worker()
    {
        var host = new FakeHost();
        var strategy = Create("asymcdc-compact", host);
        var (a, b) = (FakeHost.Query(2), FakeHost.Query(4));
        strategy.Submit(a);
        Assert.Single(host.Calls); // a data query never waits for its group
        strategy.Submit(b);
        Assert.Equal([CallRole.Data, CallRole.Data, CallRole.Parity], host.Calls.Select(c => c.Role));
        Assert.Equal(3, host.Calls.Select(c => c.Worker).Distinct().Count());
        Assert.All(host.Calls[2].Input, v => Assert.Equal(3f, v));
        Assert.Equal([false], host.Groups);
        Assert.Equal((100L, 100L), (a.GroupId, b.GroupId));
    }

    [Fact]
    public void Parm_sends_the_sum_and_a_lone_query_gets_its_parity_when_the_window_ends()
    {
        var host = new FakeHost();
        var strategy = Create("parm", host);
        strategy.Submit(FakeHost.Query(2));
        host.Advance(4.9);
        Assert.Single(host.Calls);
        host.Advance(0.1);
        Assert.Equal(CallRole.Parity, host.Calls[1].Role);
        Assert.All(host.Calls[1].Input, v => Assert.Equal(2f, v));
        Assert.Equal([true], host.Groups);
        strategy.Submit(FakeHost.Query(5));
        Assert.Equal(101L, host.Calls[2].GroupId);
    }

    [Fact]
    public void A_late_member_is_rebuilt_once_the_others_are_in_and_a_reconstruction_is_its_answer()
    {
        var host = new FakeHost();
        var strategy = Create("asymcdc-exact", host);
        var (a, b) = (FakeHost.Query(2), FakeHost.Query(4));
        strategy.Submit(a);
        strategy.Submit(b);
        host.Answer(1);
        host.Answer(2);
        host.Advance(Deadline.TotalMilliseconds - 0.1);
        Assert.Empty(host.Decodes);
        host.Advance(0.1);
        var job = Assert.Single(host.Decodes);
        Assert.Equal(0, job.Missing);
        Assert.Equal([null, 4f], job.DataAnswers().Select(r => r?.Value));
        Assert.Equal(3f, job.ParityAnswer.Value);
        job.Complete(new Reply(2, -1));
        Assert.Equal(AnswerPath.Reconstructed, a.Path);
        Assert.Equal(1, host.Stragglers);
        Assert.Contains("decoded", host.Events);

        bool? agreed = null;
        a.WhenOwnAnswerArrives!(own => agreed = own.Value == 2f);
        host.Answer(0);
        Assert.True(agreed);
        Assert.Equal(AnswerPath.Reconstructed, a.Path);
    }

    [Fact]
    public void A_late_member_whose_own_answer_arrives_before_the_others_is_answered_directly()
    {
        var host = new FakeHost();
        var strategy = Create("asymcdc-compact", host);
        var (a, b) = (FakeHost.Query(2), FakeHost.Query(4));
        strategy.Submit(a);
        strategy.Submit(b);
        host.Advance(Deadline.TotalMilliseconds);
        Assert.Equal(2, host.Stragglers);
        host.Answer(0);
        Assert.Equal(AnswerPath.Direct, a.Path);
        host.Answer(2);
        var job = Assert.Single(host.Decodes); // b can now be rebuilt from a and the parity
        Assert.Equal(1, job.Missing);
    }

    [Fact]
    public void A_member_that_misses_in_an_open_group_seals_it_so_the_parity_goes_out_now()
    {
        var host = new FakeHost();
        var settings = new StrategySettings(3, 4, TimeSpan.FromSeconds(1), 0.95, Deadline, 1);
        var strategy = ServingStrategies.Create("asymcdc-compact", settings, host, host, ReconstructionTrigger.Fixed(TimeSpan.FromMilliseconds(1)));
        var a = FakeHost.Query(2);
        strategy.Submit(a);
        host.Fail(0);
        Assert.Equal([CallRole.Data, CallRole.Parity], host.Calls.Select(c => c.Role));
        Assert.Equal("missed 0 failed", host.Events.Single(e => e.StartsWith("missed", StringComparison.Ordinal)));
        // k' = 1: the parity alone rebuilds it.
        host.Answer(1);
        Assert.Single(host.Decodes).Complete(new Reply(2, -1));
        Assert.Equal(AnswerPath.Reconstructed, a.Path);
    }

    [Fact]
    public void A_member_is_lost_only_when_its_own_call_and_another_of_its_group_failed()
    {
        var host = new FakeHost();
        var strategy = Create("asymcdc-compact", host);
        var (a, b) = (FakeHost.Query(2), FakeHost.Query(4));
        strategy.Submit(a);
        strategy.Submit(b);
        host.Fail(0);
        Assert.False(a.IsDone);
        host.Fail(2);
        Assert.Contains("could not be answered", a.Failure!.Message);
        Assert.False(a.Failure.CauseIsTheAnswer);
        Assert.Contains("lost 0", host.Events);
        host.Answer(1);
        Assert.Equal(AnswerPath.Direct, b.Path);
    }

    [Fact]
    public void A_failed_decode_leaves_the_member_waiting_for_its_own_answer()
    {
        var host = new FakeHost();
        var strategy = Create("asymcdc-compact", host);
        var (a, b) = (FakeHost.Query(2), FakeHost.Query(4));
        strategy.Submit(a);
        strategy.Submit(b);
        host.Answer(1);
        host.Answer(2);
        host.Advance(Deadline.TotalMilliseconds);
        host.Decodes[0].Fail(new InvalidOperationException("decoder down"));
        Assert.False(a.IsDone);
        Assert.Contains("decode failed 0", host.Events);
        host.Answer(0);
        Assert.Equal(AnswerPath.Direct, a.Path);
    }

    [Fact]
    public void An_unknown_mode_is_refused_by_name()
    {
        var e = Assert.Throws<ArgumentException>(() => Create("magic", new FakeHost()));
        Assert.Contains("unknown serving mode 'magic'", e.Message);
    }

    [Fact]
    public void Every_mode_answers_a_query_whose_calls_all_answer()
    {
        foreach (var mode in ServingStrategies.Modes)
        {
            var host = new FakeHost();
            var query = FakeHost.Query(1);
            Create(mode, host).Submit(query);
            host.Advance(10);
            for (var i = 0; i < host.Calls.Count; i++)
            {
                host.Answer(i);
            }

            Assert.True(query.Answer is not null, mode);
        }
    }
}
