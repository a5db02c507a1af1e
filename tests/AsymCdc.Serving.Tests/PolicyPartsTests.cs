using AsymCdc.Coding;
using AsymCdc.Serving;
using Microsoft.Extensions.Time.Testing;

namespace AsymCdc.Serving.Tests;

public class PolicyPartsTests
{
    [Fact]
    public void The_picker_goes_round_robin_over_distinct_workers()
    {
        var picker = new WorkerPicker<string>();
        string[] workers = ["a", "b", "c", "d"];
        var first = picker.Pick(workers, 3);
        var second = picker.Pick(workers, 3);
        Assert.Equal(3, first.Distinct().Count());
        Assert.Equal(workers[(Array.IndexOf(workers, first[^1]) + 1) % workers.Length], second[0]); // the next run of workers
    }

    [Fact]
    public void The_picker_passes_over_suspects_while_enough_others_remain_and_puts_newcomers_last()
    {
        var picker = new WorkerPicker<string>();
        string[] workers = ["a", "b", "c", "d"];
        for (var i = 0; i < 8; i++)
        {
            Assert.DoesNotContain("b", picker.Pick(workers, 3, isSuspected: w => w == "b"));
            Assert.Equal(4, picker.Pick(workers, 4, isSuspected: w => w == "b").Distinct().Count()); // too few trusted: keep distinct
            var picked = picker.Pick(workers, 4, goesLast: w => w == "a");
            Assert.Equal("a", picked[^1]);
        }
    }

    [Fact]
    public void The_picker_passes_over_suspects_first_and_slow_workers_only_while_enough_others_remain()
    {
        var picker = new WorkerPicker<string>();
        string[] workers = ["a", "b", "c", "d"];
        for (var i = 0; i < 8; i++)
        {
            var picked = picker.Pick(workers, 3, isSuspected: w => w == "a", isSlow: w => w == "b");
            Assert.DoesNotContain("a", picked); // three remain without the suspect: it goes
            Assert.Contains("b", picked); // only two remain without the slow one too: it stays
            Assert.DoesNotContain("b", picker.Pick(workers, 2, isSuspected: w => w == "a", isSlow: w => w == "b"));
        }
    }

    [Fact]
    public void The_picker_wraps_when_there_are_fewer_workers_than_slots_and_refuses_none()
    {
        var picker = new WorkerPicker<int>();
        Assert.Equal(3, picker.Pick([7], 3).Count(w => w == 7));
        Assert.Throws<ArgumentException>(() => picker.Pick([], 1));
    }

    [Fact]
    public void A_fixed_trigger_with_a_median_factor_follows_a_uniformly_slow_cluster_but_never_drops_below_its_floor()
    {
        var trigger = ReconstructionTrigger.Fixed(TimeSpan.FromMilliseconds(10), medianFactor: 3);
        Assert.Equal(TimeSpan.FromMilliseconds(10), trigger.Current);
        for (var i = 0; i < 50; i++)
        {
            trigger.OwnAnswered(TimeSpan.FromMilliseconds(20), late: false);
        }

        Assert.Equal(TimeSpan.FromMilliseconds(60), trigger.Current);
        var plain = ReconstructionTrigger.Fixed(TimeSpan.FromMilliseconds(10));
        plain.OwnAnswered(TimeSpan.FromMilliseconds(100), late: false);
        Assert.Equal(TimeSpan.FromMilliseconds(10), plain.Current);
    }

    [Fact]
    public void An_adaptive_trigger_follows_the_quantile_of_the_service_times_its_policy_sees()
    {
        var clock = new FakeTimeProvider();
        var quantile = new StragglerDeadline(clock, 0.5, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
        var trigger = ReconstructionTrigger.Adaptive(quantile);
        var host = new FakeHost();
        var strategy = ServingStrategies.Create("none", new StrategySettings(2, 4, TimeSpan.FromMilliseconds(5), 0.95, TimeSpan.FromMilliseconds(50), 1),
            host, host, trigger);
        for (var i = 0; i < 20; i++)
        {
            strategy.Submit(FakeHost.Query(i));
            host.Advance(7);
            host.Answer(i);
        }

        Assert.Equal(TimeSpan.FromMilliseconds(7), trigger.Current);
    }
}

public class IssueTwentyTwoPolicyTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMilliseconds(50);

    [Fact]
    public void A_quantile_trigger_follows_own_answers_late_ones_included()
    {
        var trigger = ReconstructionTrigger.Quantile(0.9, Deadline);
        Assert.Equal(Deadline, trigger.Current);
        for (var i = 1; i <= 100; i++)
        {
            trigger.OwnAnswered(TimeSpan.FromMilliseconds(i), late: i > 95);
        }

        Assert.InRange(trigger.Current.TotalMilliseconds, 85, 95);
        Assert.Equal(TimeSpan.FromMilliseconds(180), ReconstructionTrigger.Quantile(0.5, Deadline, factor: 2).With(t =>
        {
            for (var i = 0; i < 10; i++)
            {
                t.OwnAnswered(TimeSpan.FromMilliseconds(90), late: false);
            }
        }).Current);
    }

    [Fact]
    public void An_eager_exact_decoder_rebuilds_a_member_as_soon_as_its_others_are_in()
    {
        var host = new FakeHost();
        var settings = new StrategySettings(2, 4, TimeSpan.FromMilliseconds(5), 0.95, Deadline, 1) { EagerExactDecode = true };
        var strategy = ServingStrategies.Create("asymcdc-exact", settings, host, host, ReconstructionTrigger.Fixed(Deadline));
        var (a, b) = (FakeHost.Query(2), FakeHost.Query(4));
        strategy.Submit(a);
        strategy.Submit(b);
        host.Answer(1);
        Assert.Empty(host.Decodes);
        host.Answer(2);
        Assert.Equal(0, Assert.Single(host.Decodes).Missing); // no deadline waited out
        host.Answer(0); // the own answer still wins if it comes first
        Assert.Equal(AnswerPath.Direct, a.Path);

        var compact = ServingStrategies.Create("asymcdc-compact", settings, host, host, ReconstructionTrigger.Fixed(Deadline));
        host.Calls.Clear();
        host.Decodes.Clear();
        compact.Submit(FakeHost.Query(1));
        compact.Submit(FakeHost.Query(3));
        host.Answer(1);
        host.Answer(2);
        Assert.Empty(host.Decodes); // an approximate decoder waits for its trigger
    }

    [Fact]
    public void A_window_from_arrivals_seals_a_lone_query_at_once_at_low_load_and_waits_at_high_load()
    {
        var host = new FakeHost();
        var settings = new StrategySettings(2, 4, TimeSpan.FromMilliseconds(5), 0.95, Deadline, 1) { WindowFromArrivals = true };
        var strategy = (CodedStrategy<int, Reply>)ServingStrategies.Create("asymcdc-compact", settings, host, host, ReconstructionTrigger.Fixed(Deadline));
        for (var i = 0; i < 4; i++)
        {
            strategy.Submit(FakeHost.Query(i));
            host.Advance(100); // one query every 100 ms: nobody joins within 5 ms
        }

        Assert.Equal(TimeSpan.Zero, strategy.Batcher.WindowNow);
        Assert.Equal(8, host.Calls.Count); // each query's parity went out with it
        for (var i = 0; i < 40; i++)
        {
            host.Advance(0.5);
            strategy.Submit(FakeHost.Query(i));
        }

        Assert.InRange(strategy.Batcher.WindowNow.TotalMilliseconds, 0.5, 5);
    }

    [Fact]
    public void The_slow_worker_detector_marks_a_persistently_slow_worker_not_one_with_rare_stragglers_and_forgives_it()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var slow = new SlowWorkerDetector<int>(clock, factor: 3, probation: TimeSpan.FromSeconds(1));
        var random = new Random(1);
        for (var i = 0; i < 400; i++)
        {
            var worker = i % 4;
            // Worker 3 is 10x slower; the others straggle 20x on 5% of their calls.
            var ms = worker == 3 ? 10 : random.NextDouble() < 0.05 ? 20 : 1;
            slow.Record(worker, TimeSpan.FromMilliseconds(ms));
        }

        Assert.Equal([false, false, false, true], Enumerable.Range(0, 4).Select(slow.IsSlow));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(slow.IsSlow(3)); // passed over long enough: tried again
        Assert.Equal(0, slow.SlowCount);
    }

    [Theory]
    [InlineData(1, false)] // recovered: judged healthy after its trial
    [InlineData(10, true)] // still slow: passed over again
    public void A_slow_worker_is_tried_again_on_trial_and_judged_on_its_new_calls_alone(double trialMs, bool slowAgain)
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var slow = new SlowWorkerDetector<int>(clock, factor: 3, probation: TimeSpan.FromSeconds(1));
        for (var i = 0; i < 400; i++)
        {
            slow.Record(i % 4, TimeSpan.FromMilliseconds(i % 4 == 3 ? 10 : 1));
        }

        Assert.True(slow.IsSlow(3));
        Assert.False(slow.IsOnTrial(3));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(slow.IsSlow(3));
        Assert.True(slow.IsOnTrial(3));
        Assert.Equal((0, 1), (slow.SlowCount, slow.TrialCount));

        for (var i = 0; i < (SlowWorkerDetector<int>.Samples / 2) - 1; i++)
        {
            slow.Record(3, TimeSpan.FromMilliseconds(trialMs));
            Assert.True(slow.IsOnTrial(3)); // not judged on fewer calls than a median needs
        }

        slow.Record(3, TimeSpan.FromMilliseconds(trialMs));

        Assert.False(slow.IsOnTrial(3));
        Assert.Equal(slowAgain, slow.IsSlow(3));
        Assert.Equal((slowAgain ? 1 : 0, 0), (slow.SlowCount, slow.TrialCount));
    }

    [Fact]
    public void The_detector_reports_each_change_of_a_workers_state_once_with_its_median_and_the_fleets()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var slow = new SlowWorkerDetector<int>(clock, factor: 3, probation: TimeSpan.FromSeconds(1));
        var changes = new List<(int Worker, SlowWorkerChange Change)>();
        slow.Changed += (worker, change) => changes.Add((worker, change));
        for (var i = 0; i < 400; i++)
        {
            slow.Record(i % 4, TimeSpan.FromMilliseconds(i % 4 == 3 ? 10 : 1));
        }

        Assert.Equal([(3, new SlowWorkerChange(SlowWorkerState.Healthy, SlowWorkerState.Slow, 10, 1))], changes);

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(slow.IsSlow(3));
        Assert.False(slow.IsSlow(3)); // once
        Assert.Equal((3, new SlowWorkerChange(SlowWorkerState.Slow, SlowWorkerState.OnTrial, 10, 1)), changes[^1]);

        for (var i = 0; i < SlowWorkerDetector<int>.Samples / 2; i++)
        {
            slow.Record(3, TimeSpan.FromMilliseconds(1));
        }

        Assert.Equal((3, new SlowWorkerChange(SlowWorkerState.OnTrial, SlowWorkerState.Healthy, 1, 1)), changes[^1]);
        Assert.Equal(3, changes.Count);
    }

    [Fact]
    public void A_slow_worker_that_cannot_be_passed_over_takes_only_the_last_slot()
    {
        // A group of k + 1 = 3 on three workers: passing the slow one over would leave too few, so it takes the parity.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var slow = new SlowWorkerDetector<string>(clock, factor: 3, probation: TimeSpan.FromSeconds(1));
        string[] workers = ["a", "b", "c"];
        for (var i = 0; i < 300; i++)
        {
            slow.Record(workers[i % 3], TimeSpan.FromMilliseconds(i % 3 == 2 ? 10 : 1));
        }

        Assert.True(slow.IsSlow("c"));
        var picker = new WorkerPicker<string>();
        for (var i = 0; i < 30; i++)
        {
            var group = picker.Pick(workers, 3, isSuspected: null, goesLast: null, slow);
            Assert.Equal("c", group[2]);
            var hedge = picker.Pick(workers, 2, isSuspected: null, goesLast: null, slow);
            Assert.DoesNotContain("c", hedge); // two others remain: passed over
        }
    }

    [Fact]
    public void A_worker_on_trial_takes_only_the_last_slot_of_a_pick_its_parity_or_backup()
    {
        var picker = new WorkerPicker<string>();
        string[] workers = ["a", "b", "c", "d"];

        for (var i = 0; i < 40; i++)
        {
            var group = picker.Pick(workers, 3, goesLast: w => w == "d");
            Assert.DoesNotContain("d", group[..2]);
            var hedge = picker.Pick(workers, 2, goesLast: w => w == "d");
            Assert.NotEqual("d", hedge[0]);
        }
    }
}

public class SlowWorkerColdStartTests
{
    [Fact]
    public void A_new_workers_cold_first_calls_are_not_judged_but_a_worker_that_stays_slow_is()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var slow = new SlowWorkerDetector<int>(clock, factor: 3, probation: TimeSpan.FromSeconds(1));
        for (var i = 0; i < 300; i++)
        {
            slow.Record(i % 3, TimeSpan.FromMilliseconds(1));
        }

        // Worker 3 joins: its first calls are 10x slow (cold), then it is as fast as the rest.
        for (var i = 0; i < SlowWorkerDetector<int>.ColdCalls; i++)
        {
            slow.Record(3, TimeSpan.FromMilliseconds(10));
            Assert.False(slow.IsSlow(3));
        }

        for (var i = 0; i < 40; i++)
        {
            slow.Record(3, TimeSpan.FromMilliseconds(1));
        }

        Assert.False(slow.IsSlow(3));

        // Worker 4 joins slow and stays slow: judged once its cold calls are past.
        var flaggedAfter = -1;
        for (var i = 0; i < 100 && flaggedAfter < 0; i++)
        {
            slow.Record(4, TimeSpan.FromMilliseconds(10));
            flaggedAfter = slow.IsSlow(4) ? i + 1 : -1;
        }

        Assert.Equal(SlowWorkerDetector<int>.ColdCalls + (SlowWorkerDetector<int>.Samples / 2), flaggedAfter);
    }
}

internal static class TriggerTestExtensions
{
    public static ReconstructionTrigger With(this ReconstructionTrigger trigger, Action<ReconstructionTrigger> act)
    {
        act(trigger);
        return trigger;
    }
}

public class AutoStrategyTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMilliseconds(50);

    private static AutoStrategy<int, Reply> Auto(FakeHost host, double? budget = null, string? codingUnavailable = null, string coder = AutoCoding.Compact) =>
        (AutoStrategy<int, Reply>)ServingStrategies.Create("auto",
            new StrategySettings(2, 4, TimeSpan.FromMilliseconds(5), 0.95, Deadline, 1) { RedundancyBudget = budget, CodingUnavailable = codingUnavailable, AutoCoder = coder },
            host, host, ReconstructionTrigger.Quantile(0.9, Deadline), ReconstructionTrigger.Quantile(0.9, Deadline));

    /// <summary>Serves <paramref name="queries"/> queries whose answers come after <paramref name="ms"/>(i) ms.</summary>
    private static void Serve(FakeHost host, AutoStrategy<int, Reply> auto, int queries, Func<int, double> ms)
    {
        for (var i = 0; i < queries; i++)
        {
            var first = host.Calls.Count;
            auto.Submit(FakeHost.Query(i));
            host.Advance(ms(i));
            for (var c = first; c < host.Calls.Count; c++)
            {
                host.Answer(c);
            }

            host.Advance(10); // past every window and timer before the next query
            for (var c = first; c < host.Calls.Count; c++)
            {
                host.Answer(c);
            }
        }
    }

    [Fact]
    public void Auto_codes_when_a_rebuild_comes_sooner_than_a_hedge_and_hedges_when_its_tail_is_short()
    {
        var host = new FakeHost();
        var auto = Auto(host);
        Assert.True(auto.IsCoding);
        // A long body: p90 + a decode (at most half an inference before any) is far below p95 + p50.
        Serve(host, auto, 2 * AutoStrategy<int, Reply>.ReviewEvery + 1, i => 1 + (i % 10));
        Assert.True(auto.IsCoding, auto.Why);
        Assert.True(auto.Estimates.Coded < auto.Estimates.Hedged);
    }

    [Fact]
    public void Auto_hedges_only_when_coding_is_over_its_redundancy_budget_and_says_why()
    {
        var host = new FakeHost();
        var auto = Auto(host, budget: 0.1);
        Serve(host, auto, AutoStrategy<int, Reply>.ReviewEvery + 1, _ => 2);
        Assert.Equal("hedged", auto.Choice);
        Assert.Contains("over the redundancy budget 0.1", auto.Why);
        Assert.Contains(host.Events, e => e.StartsWith("auto hedged", StringComparison.Ordinal));
        var before = host.Calls.Count;
        auto.Submit(FakeHost.Query(1));
        Assert.Equal(CallRole.Data, Assert.Single(host.Calls.Skip(before)).Role); // no parity: a hedge, later if at all
    }

    [Theory]
    [InlineData(0.1, null, "over the redundancy budget 0.1")]
    [InlineData(null, "coding is not available for this model: asymcdc-compact needs a compact decoder of 'm'", "asymcdc-compact needs a compact decoder")]
    public void Auto_hedges_from_its_first_query_where_it_may_not_code(double? budget, string? unavailable, string why)
    {
        var host = new FakeHost();
        var auto = Auto(host, budget, unavailable);

        Assert.Equal("hedged", auto.Choice);
        Assert.Contains(why, auto.Why);
        Serve(host, auto, AutoStrategy<int, Reply>.ReviewEvery + 1, i => 1 + (i % 10));
        Assert.Equal("hedged", auto.Choice);
        Assert.DoesNotContain(host.Calls, c => c.Role == CallRole.Parity);
    }
}

public class SlowSpellLogTests
{
    [Fact]
    public void A_workers_slow_spells_are_warned_of_at_most_once_per_quiet_time_and_the_next_warning_counts_the_rest()
    {
        var clock = new FakeTimeProvider();
        var log = new SlowSpellLog<string>(clock, TimeSpan.FromSeconds(10));

        Assert.Equal((true, 0, TimeSpan.Zero), log.SpellBegan("a"));
        Assert.True(log.SpellEnded("a")); // its start was a warning: so is its end worth saying
        for (var i = 1; i <= 20; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(400)); // an overloaded fleet: slow and back every 0.4 s
            var (warn, unwarned, _) = log.SpellBegan("a");
            Assert.Equal((false, i), (warn, unwarned));
            Assert.False(log.SpellEnded("a"));
        }

        Assert.Equal((true, 0, TimeSpan.Zero), log.SpellBegan("b")); // another worker has its own quiet time
        clock.Advance(TimeSpan.FromSeconds(2)); // 10 s after a's warning
        Assert.Equal((true, 20, TimeSpan.FromSeconds(10)), log.SpellBegan("a"));
        Assert.True(log.SpellEnded("a"));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal((false, 1, TimeSpan.FromSeconds(1)), log.SpellBegan("a"));

        log.Forget("a"); // it left the cluster: a silo at its address later is new
        Assert.Equal((true, 0, TimeSpan.Zero), log.SpellBegan("a"));
    }
}

public class RedundancyLedgerTests
{
    [Fact]
    public void The_ledger_pays_a_parity_only_from_what_queries_earned_and_holds_no_more_than_its_capacity()
    {
        var ledger = new RedundancyLedger(budget: 0.5, capacity: 2);

        Assert.False(ledger.AffordsParity()); // nothing earned yet
        ledger.Earn();
        Assert.False(ledger.AffordsParity()); // one query pays half a parity
        ledger.Earn();
        Assert.True(ledger.AffordsParity());
        ledger.Pay();
        Assert.Equal(0, ledger.Balance, 9);
        for (var i = 0; i < 10; i++)
        {
            ledger.Earn();
        }

        Assert.Equal(2, ledger.Balance, 9); // a quiet spell saves up two calls, not five
        ledger.Pay();
        ledger.Pay();
        ledger.Pay(); // a hedge is never refused: the balance goes below zero
        Assert.Equal(-1, ledger.Balance, 9);
        Assert.Equal(2, ledger.Withheld);
    }

    [Fact]
    public void Sums_of_one_over_k_that_round_below_one_still_pay_a_parity()
    {
        var ledger = new RedundancyLedger(budget: 0.1, capacity: 10);
        for (var i = 0; i < 10; i++)
        {
            ledger.Earn();
        }

        Assert.True(ledger.Balance < 1); // 0.1 ten times is 0.9999999999999999
        Assert.True(ledger.AffordsParity());
    }
}

public class AutoBudgetTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMilliseconds(50);

    private static AutoStrategy<int, Reply> Auto(FakeHost host, double? budget = null) =>
        (AutoStrategy<int, Reply>)ServingStrategies.Create("auto",
            new StrategySettings(2, 4, TimeSpan.FromMilliseconds(5), 0.95, Deadline, 1) { RedundancyBudget = budget },
            host, host, ReconstructionTrigger.Fixed(Deadline), ReconstructionTrigger.Fixed(TimeSpan.FromMilliseconds(1)));

    [Fact]
    public void Full_groups_always_get_their_parity_at_one_over_k()
    {
        var host = new FakeHost();
        var auto = Auto(host);
        for (var i = 0; i < 40; i++)
        {
            auto.Submit(FakeHost.Query(i));
        }

        Assert.Equal(20, host.Calls.Count(c => c.Role == CallRole.Parity));
        Assert.Equal(0, auto.Ledger.Withheld);
        Assert.DoesNotContain("sealed without parity", host.Events);
    }

    [Theory]
    [InlineData(null, 50)] // 1/k = 0.5: a lone query's parity is paid by two queries
    [InlineData(0.75, 75)]
    [InlineData(1.0, 100)] // a budget of replication's pays every lone query its parity
    public void Lone_queries_get_parities_only_as_far_as_the_budget_pays_for_them(double? budget, int parities)
    {
        var host = new FakeHost();
        var auto = Auto(host, budget);
        for (var i = 0; i < 100; i++)
        {
            var first = host.Calls.Count;
            auto.Submit(FakeHost.Query(i));
            host.Answer(first); // in time
            host.Advance(5); // the window ends: a group of one is sealed
            for (var c = first + 1; c < host.Calls.Count; c++)
            {
                host.Answer(c);
            }
        }

        Assert.True(auto.IsCoding, auto.Why);
        Assert.Equal(parities, host.Calls.Count(c => c.Role == CallRole.Parity));
        Assert.Equal(100 - parities, auto.Ledger.Withheld);
        Assert.Equal(100 - parities, host.Events.Count(e => e == "sealed without parity"));
    }

    [Fact]
    public void A_query_refused_before_its_call_went_out_earns_nothing()
    {
        var host = new FakeHost(workers: 0); // no live worker: the pick throws, as a silo's does before its view has any
        var auto = Auto(host);

        Assert.ThrowsAny<Exception>(() => auto.Submit(FakeHost.Query(1)));
        Assert.ThrowsAny<Exception>(() => auto.Submit(FakeHost.Query(2)));
        Assert.Equal(0, auto.Ledger.Balance);
    }

    [Fact]
    public void A_late_member_of_a_group_without_a_parity_is_hedged_on_the_parity_s_worker_and_the_first_answer_wins()
    {
        var host = new FakeHost();
        var auto = Auto(host);
        var a = FakeHost.Query(7);
        auto.Submit(a);
        host.Advance(1); // its trigger: the group is sealed now, and one query's half call does not pay a parity

        Assert.Equal([CallRole.Data, CallRole.Hedge], host.Calls.Select(c => c.Role));
        Assert.Equal(host.Calls[0].GroupId, host.Calls[1].GroupId);
        Assert.NotEqual(host.Calls[0].Worker, host.Calls[1].Worker);
        Assert.Equal([7f, 7f, 7f, 7f], host.Calls[1].Input);
        Assert.Empty(host.Decodes);
        host.Answer(1);
        Assert.Equal(AnswerPath.Backup, a.Path);
        Assert.Equal(host.Calls[1].Worker, a.AnsweredBy);
        host.Answer(0); // its own, later: changes nothing
        Assert.Equal(AnswerPath.Backup, a.Path);
        Assert.Equal(-0.5, auto.Ledger.Balance, 9); // the hedge is paid from the balance
    }

    [Fact]
    public void A_member_of_a_group_without_a_parity_fails_only_when_its_own_call_and_its_hedge_failed()
    {
        var host = new FakeHost();
        var auto = Auto(host);
        var a = FakeHost.Query(7);
        auto.Submit(a);
        host.Fail(0); // failed: hedged at once, no parity to rebuild from

        Assert.Equal([CallRole.Data, CallRole.Hedge], host.Calls.Select(c => c.Role));
        Assert.False(a.IsDone);
        host.Fail(1);
        Assert.Contains("every worker call of this asymcdc-compact query failed", a.Failure!.Message);

        var b = FakeHost.Query(8);
        auto.Submit(b);
        host.Advance(1);
        host.Fail(3); // the hedge fails first; the own answer still comes
        Assert.False(b.IsDone);
        host.Answer(2);
        Assert.Equal(AnswerPath.Direct, b.Path);
    }
}

public class AutoCodingTests
{
    private static readonly CodedModel Model = new()
    {
        Name = "m", InputName = "x", InputShape = [4], Outputs = ["logits", "z"], OutputLengths = [3, 4], FeaturesOutput = 1,
        Compact = new Dictionary<int, string> { [2] = "m-compact-k2", [3] = "m-compact-k3" },
        Parity = new Dictionary<int, string> { [2] = "m-parm-k2", [3] = "m-parm-k3" },
        Agreements = new Dictionary<string, double> { ["m-compact-k2"] = 0.92, ["m-parm-k2"] = 0.876, ["m-parm-k3"] = 0.74 },
    };

    [Fact]
    public void Auto_codes_with_parm_where_its_recorded_agreement_reaches_the_floor()
    {
        var (coder, why) = AutoCoding.Choose(AutoCoding.Options(Model, 2), AutoCoding.DefaultMinAgreement);

        Assert.Equal(AutoCoding.Parm, coder);
        Assert.Contains("agreement 0.876 ≥ 0.85", why);
    }

    [Theory]
    [InlineData(2, 0.9, "parm's reconstructions agree with the model 0.876, below AutoMinAgreement 0.9")]
    [InlineData(3, 0.85, "parm's reconstructions agree with the model 0.74, below AutoMinAgreement 0.85")]
    public void Auto_codes_with_the_compact_decoder_where_parm_is_below_the_floor_and_says_so(int k, double floor, string why)
    {
        var (coder, reason) = AutoCoding.Choose(AutoCoding.Options(Model, k), floor);

        Assert.Equal(AutoCoding.Compact, coder);
        Assert.Contains(why, reason);
        Assert.Contains(k == 2 ? "agreement 0.92 ≥ 0.9" : "agreement not recorded", reason);
    }

    [Fact]
    public void A_parity_model_with_no_recorded_agreement_is_not_used_and_without_any_decoder_auto_only_hedges()
    {
        var unrecorded = Model with { Agreements = new Dictionary<string, double>() };
        var neither = Model with { Compact = new Dictionary<int, string>(), Agreements = new Dictionary<string, double> { ["m-parm-k2"] = 0.5 } };

        var (coder, why) = AutoCoding.Choose(AutoCoding.Options(unrecorded, 2), 0.85);
        var (none, whyNot) = AutoCoding.Choose(AutoCoding.Options(neither, 2), 0.85);

        Assert.Equal(AutoCoding.Compact, coder);
        Assert.Contains("parm's decoder records no agreement", why);
        Assert.Null(none);
        Assert.StartsWith("coding is not available for this model: parm's reconstructions agree with the model 0.5", whyNot);
        Assert.Contains("asymcdc-compact needs a compact decoder of 'm' for groups of 2", whyNot);
    }

    [Fact]
    public void Auto_keeps_k_where_a_decoder_qualifies_and_the_budget_allows_it()
    {
        var (k, coder, why) = AutoCoding.ChooseGroup(2, null, 4, g => AutoCoding.Options(Model, g), 0.85);

        Assert.Equal((2, AutoCoding.Parm), (k, coder));
        Assert.StartsWith("codes with parm (agreement 0.876", why);
    }

    [Fact]
    public void Below_one_parity_per_k_auto_codes_larger_groups_and_never_beyond_the_workers_it_has()
    {
        var wide = Model with
        {
            Compact = new Dictionary<int, string> { [2] = "m-compact-k2", [3] = "m-compact-k3", [4] = "m-compact-k4" },
        };

        var four = AutoCoding.ChooseGroup(2, 0.25, 4, g => AutoCoding.Options(wide, g), 0.85);
        var boundBelowFour = AutoCoding.ChooseGroup(2, 0.25, 3, g => AutoCoding.Options(wide, g), 0.85);

        // parm at 4 has no parity model; the compact decoder for 4 records no agreement, so it is eligible.
        Assert.Equal((4, AutoCoding.Compact), (four.K, four.Coder));
        Assert.EndsWith("at k = 4, the smallest group whose 1/4 extra calls per query fit the redundancy budget 0.25", four.Why);
        Assert.Equal((2, null, null), boundBelowFour); // auto's own budget check says why it only hedges
    }

    [Fact]
    public void Where_k_has_no_decoder_auto_may_use_it_codes_the_next_group_size_that_has_one_or_says_why_not()
    {
        // At 3 ParM is below the floor and the compact decoder missing; at 4 a compact decoder qualifies.
        var gap = Model with
        {
            Compact = new Dictionary<int, string> { [2] = "m-compact-k2", [3] = "m-compact-k3", [4] = "m-compact-k4" },
            Agreements = new Dictionary<string, double> { ["m-parm-k3"] = 0.74, ["m-compact-k3"] = 0.8, ["m-compact-k4"] = 0.86 },
        };

        var next = AutoCoding.ChooseGroup(3, null, 4, g => AutoCoding.Options(gap, g), 0.85);
        var none = AutoCoding.ChooseGroup(3, null, 4, g => AutoCoding.Options(gap, g), 0.9);

        Assert.Equal((4, AutoCoding.Compact), (next.K, next.Coder));
        Assert.Contains("codes with asymcdc-compact (agreement 0.86 ≥ 0.85", next.Why);
        Assert.Contains("at k = 4; at k = 3 coding is not available for this model: parm's reconstructions agree with the model 0.74", next.Why);
        Assert.Equal((3, null), (none.K, none.Coder));
        Assert.StartsWith("coding is not available for this model: parm's reconstructions agree with the model 0.74", none.Why);
        Assert.EndsWith(", nor at any k up to 4", none.Why);
    }

    [Fact]
    public void Auto_coding_with_parm_sends_the_sum_of_its_members_as_the_parity_query()
    {
        var host = new FakeHost();
        var auto = (AutoStrategy<int, Reply>)ServingStrategies.Create("auto",
            new StrategySettings(2, 4, TimeSpan.FromMilliseconds(5), 0.95, TimeSpan.FromMilliseconds(50), 1) { AutoCoder = AutoCoding.Parm },
            host, host, ReconstructionTrigger.Quantile(0.9, TimeSpan.FromMilliseconds(50)), ReconstructionTrigger.Quantile(0.9, TimeSpan.FromMilliseconds(50)));

        auto.Submit(FakeHost.Query(1));
        auto.Submit(FakeHost.Query(2));

        Assert.Equal(AutoCoding.Parm, auto.Choice);
        Assert.True(auto.IsCoding);
        var parity = Assert.Single(host.Calls, c => c.Role == CallRole.Parity);
        Assert.All(parity.Input, v => Assert.Equal(3f, v)); // ParM's X_p = Σ X_i (asymcdc-compact would send the mean, 1.5)
    }
}
