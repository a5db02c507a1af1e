using System.Diagnostics;
using AsymCdc.Client;

namespace AsymCdc.Reliability.Tests;

/// <summary>The pure parts of the client's hedging: its budget, its delay and its suspicion of frontends.</summary>
public sealed class ClientHedgingTests
{
    private static readonly long Second = Stopwatch.Frequency;

    [Fact]
    public void The_budget_starts_full_and_then_pays_one_hedge_per_twenty_calls()
    {
        var budget = new HedgeBudget(fraction: 0.05, burst: 3);

        Assert.Equal(3, Enumerable.Range(0, 10).Count(_ => budget.TrySpend()));
        for (var i = 0; i < 19; i++)
        {
            budget.Earn();
        }

        Assert.False(budget.TrySpend());
        budget.Earn();
        Assert.True(budget.TrySpend());
        Assert.False(budget.TrySpend());
    }

    [Fact]
    public void The_budget_holds_no_more_than_its_burst()
    {
        var budget = new HedgeBudget(fraction: 0.5, burst: 2);
        for (var i = 0; i < 1000; i++)
        {
            budget.Earn();
        }

        Assert.Equal(2, budget.Available);
        Assert.Equal(2, Enumerable.Range(0, 5).Count(_ => budget.TrySpend()));
    }

    [Fact]
    public void The_refill_signal_completes_when_a_call_earns_the_next_hedge()
    {
        var budget = new HedgeBudget(fraction: 0.5, burst: 1);
        Assert.True(budget.Refilled.IsCompleted); // it can pay now
        Assert.True(budget.TrySpend());

        var refilled = budget.Refilled;
        budget.Earn();
        Assert.False(refilled.IsCompleted); // one token of the two a hedge costs
        budget.Earn();
        Assert.True(refilled.IsCompleted);
        Assert.True(budget.TrySpend());
        Assert.False(budget.Refilled.IsCompleted); // spent again: a new wait
    }

    [Fact]
    public void Spending_from_many_threads_never_overdraws()
    {
        var budget = new HedgeBudget(fraction: 0.1, burst: 100);
        var spent = 0;
        Parallel.For(0, 1000, _ =>
        {
            if (budget.TrySpend())
            {
                Interlocked.Increment(ref spent);
            }
        });

        Assert.Equal(100, spent);
        Assert.Equal(0, budget.Available);
    }

    [Fact]
    public void The_delay_is_the_maximum_until_enough_answers_then_the_percentile_within_its_bounds()
    {
        var delay = new HedgeDelay(new ClientHedging
        {
            Percentile = 0.9, MinSamples = 10, MinDelay = TimeSpan.FromMilliseconds(2), MaxDelay = TimeSpan.FromMilliseconds(500),
        });
        for (var i = 1; i <= 9; i++)
        {
            delay.Record(TimeSpan.FromMilliseconds(i));
        }

        Assert.Equal(TimeSpan.FromMilliseconds(500), delay.Current);
        for (var i = 10; i <= 32; i++)
        {
            delay.Record(TimeSpan.FromMilliseconds(i));
        }

        // 1..32 ms: the 0.9 percentile is the 29th smallest.
        Assert.Equal(TimeSpan.FromMilliseconds(29), delay.Current);

        var fast = new HedgeDelay(new ClientHedging { MinSamples = 1, MinDelay = TimeSpan.FromMilliseconds(2) });
        fast.Record(TimeSpan.FromMilliseconds(0.1));
        Assert.Equal(TimeSpan.FromMilliseconds(2), fast.Current);
    }

    [Fact]
    public void A_frontend_that_answered_nothing_since_the_overtaken_call_was_sent_is_suspected_for_the_probation()
    {
        var suspicion = new FrontendSuspicion(TimeSpan.FromSeconds(1));
        var t0 = 100 * Second;
        suspicion.Answered("a", sent: t0 - 1, now: t0);

        Assert.Equal(SuspicionChange.New, suspicion.HedgeWon("a", sent: t0 + 1, now: t0 + Second / 50));

        Assert.True(suspicion.Any(t0 + Second / 2));
        Assert.True(suspicion.IsSuspected("a", t0 + Second / 2));
        Assert.False(suspicion.IsSuspected("b", t0 + Second / 2));
        // After the probation it is on trial for one more; with no trial call in that time the suspicion ends.
        Assert.True(suspicion.IsSuspected("a", t0 + 2 * Second));
        Assert.False(suspicion.IsSuspected("a", t0 + 3 * Second));
        Assert.False(suspicion.Any(t0 + 3 * Second));
        Assert.Equal(1, suspicion.Suspicions);
    }

    [Fact]
    public void After_the_probation_one_call_tries_the_suspect_and_an_answer_to_it_clears_it()
    {
        var suspicion = new FrontendSuspicion(TimeSpan.FromSeconds(1));
        var t0 = 100 * Second;
        Assert.Equal(SuspicionChange.New, suspicion.HedgeWon("a", sent: t0, now: t0 + 1));
        Assert.False(suspicion.TryTrial("a", t0 + Second / 2, out _)); // on probation: no trial

        var trial = t0 + Second + Second / 10;
        Assert.True(suspicion.TryTrial("a", trial, out _));
        Assert.False(suspicion.TryTrial("a", trial + 1, out _)); // one trial per probation
        Assert.True(suspicion.IsSuspected("a", trial + 1)); // the other calls still avoid it

        // A late answer to a call sent before the suspicion (a thawed backlog, a buffered reply) proves nothing.
        suspicion.Answered("a", sent: t0 - 1, now: trial + 2);
        Assert.True(suspicion.IsSuspected("a", trial + 3));

        suspicion.Answered("a", sent: trial, now: trial + Second / 100);
        Assert.False(suspicion.IsSuspected("a", trial + Second / 50));
        Assert.False(suspicion.AnySuspected(trial + Second / 50));
        Assert.Equal(1, suspicion.Suspicions);
    }

    /// <summary>Frontend "a" suspected at 100 s (probation 1 s), its trial call taken 1.1 s later: the suspicion, the
    /// trial's time and the probation end it tries after.</summary>
    private static (FrontendSuspicion Suspicion, long Trial, long Of) TrialOfA()
    {
        var suspicion = new FrontendSuspicion(TimeSpan.FromSeconds(1));
        var t0 = 100 * Second;
        suspicion.HedgeWon("a", sent: t0, now: t0 + 1);
        var trial = t0 + Second + Second / 10;
        Assert.True(suspicion.TryTrial("a", trial, out var of));
        return (suspicion, trial, of);
    }

    [Fact]
    public void A_trial_overtaken_by_its_hedge_starts_a_new_probation_without_a_new_suspicion()
    {
        var (suspicion, trial, _) = TrialOfA();
        var signal = suspicion.NextSuspicion;

        Assert.Equal(SuspicionChange.Extended, suspicion.HedgeWon("a", sent: trial, now: trial + Second / 20));
        Assert.False(signal.IsCompleted); // its calls out were sent again at the first suspicion; only the trial went since
        Assert.False(suspicion.TryTrial("a", trial + Second / 2, out _)); // on probation again
        Assert.True(suspicion.TryTrial("a", trial + Second + Second / 10, out _)); // the next trial
        Assert.Equal(1, suspicion.Suspicions);
    }

    [Fact]
    public void While_the_trial_call_is_out_the_suspect_stays_avoided_and_its_unanswered_end_starts_a_new_probation()
    {
        // The trial's hedge may wait for the budget for longer than the trial period (a client whose budget is spent):
        // the suspicion must not lapse meanwhile, or half the new calls would enter the frozen frontend again.
        var (suspicion, trial, of) = TrialOfA();

        var late = trial + 5 * Second;
        Assert.True(suspicion.IsSuspected("a", late));
        Assert.True(suspicion.Any(late));
        Assert.False(suspicion.TryTrial("a", late, out _)); // one trial at a time

        // The trial call failed (its deadline passed with no answer): a new probation, then the next trial.
        suspicion.TrialEnded("a", of, late);
        Assert.True(suspicion.IsSuspected("a", late + Second / 2));
        Assert.False(suspicion.TryTrial("a", late + Second / 2, out _));
        Assert.True(suspicion.TryTrial("a", late + Second + Second / 10, out var next));
        Assert.NotEqual(of, next);
        Assert.Equal(1, suspicion.Suspicions);
    }

    [Fact]
    public void A_trial_answered_by_the_suspect_clears_it_and_its_end_changes_nothing()
    {
        var (suspicion, trial, of) = TrialOfA();

        suspicion.Answered("a", sent: trial, now: trial + Second / 100);
        suspicion.TrialEnded("a", of, trial + Second / 100);

        Assert.False(suspicion.IsSuspected("a", trial + Second / 50));
        Assert.False(suspicion.Any(trial + 3 * Second)); // no trial left out
    }

    [Fact]
    public void A_new_suspicion_signals_once_and_re_arms()
    {
        var suspicion = new FrontendSuspicion(TimeSpan.FromSeconds(1));
        var t0 = 100 * Second;
        var signal = suspicion.NextSuspicion;

        Assert.Equal(SuspicionChange.New, suspicion.HedgeWon("a", sent: t0, now: t0 + 1));
        Assert.True(signal.IsCompletedSuccessfully);
        var next = suspicion.NextSuspicion;
        Assert.False(next.IsCompleted);

        // Suspected again within its probation: the probation is extended, no new suspicion is signalled or counted.
        Assert.Equal(SuspicionChange.Extended, suspicion.HedgeWon("a", sent: t0 + 2, now: t0 + Second / 2));
        Assert.False(next.IsCompleted);
        Assert.True(suspicion.IsSuspected("a", t0 + Second + Second / 4));
        Assert.Equal(1, suspicion.Suspicions);
    }

    [Fact]
    public void A_frontend_that_answered_other_calls_meanwhile_is_slow_not_suspected()
    {
        var suspicion = new FrontendSuspicion(TimeSpan.FromSeconds(1));
        var sent = 100 * Second;
        suspicion.Answered("a", sent: sent - Second / 100, now: sent + Second / 100);

        Assert.Equal(SuspicionChange.None, suspicion.HedgeWon("a", sent, now: sent + Second / 50));
        Assert.False(suspicion.Any(sent + Second / 50));
        Assert.False(suspicion.IsSuspected("a", sent + Second / 50));
        // Nor is a frontend the client did not know yet.
        Assert.Equal(SuspicionChange.None, suspicion.HedgeWon(null, sent, sent + Second));
        Assert.Equal(0, suspicion.Suspicions);
    }

    [Fact]
    public void Two_counter_snapshots_subtract_field_by_field()
    {
        var before = new ClientCounters(1, 2, 3, 4, 5, 6, 7, 8);
        var after = new ClientCounters(11, 12, 13, 24, 25, 26, 37, 48);

        Assert.Equal(new ClientCounters(10, 10, 10, 20, 20, 20, 30, 40), after - before);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void A_hedging_percentile_outside_0_to_1_is_refused_by_name(double percentile)
    {
        var e = Assert.Throws<ArgumentException>(() => new ClientHedging { Percentile = percentile }.Validate());
        Assert.Contains("ClientHedging.Percentile", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Other_out_of_range_settings_are_refused_by_name()
    {
        Assert.Contains("Budget", Assert.Throws<ArgumentException>(() => new ClientHedging { Budget = 0 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("MinDelay", Assert.Throws<ArgumentException>(() =>
            new ClientHedging { MinDelay = TimeSpan.FromSeconds(2), MaxDelay = TimeSpan.FromSeconds(1) }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("Burst", Assert.Throws<ArgumentException>(() => new ClientHedging { Burst = 0 }.Validate()).Message, StringComparison.Ordinal);
        new ClientHedging().Validate();
    }
}
