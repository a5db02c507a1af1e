namespace AsymCdc.Client;

/// <summary>What an <see cref="AsymCdcClient"/> did beyond sending each call once, since it started
/// (<see cref="AsymCdcClient.Counters"/>); the difference of two snapshots is what happened in between.</summary>
public readonly record struct ClientCounters(
    long Resent,
    long Respreads,
    long KeptKeys,
    long Hedged,
    long HedgeWins,
    long HedgesWithheld,
    long FrontendSuspicions,
    long ResentOnSuspicion,
    long ResentOnRefusal = 0)
{
    public static ClientCounters operator -(ClientCounters after, ClientCounters before) => new(
        after.Resent - before.Resent,
        after.Respreads - before.Respreads,
        after.KeptKeys - before.KeptKeys,
        after.Hedged - before.Hedged,
        after.HedgeWins - before.HedgeWins,
        after.HedgesWithheld - before.HedgesWithheld,
        after.FrontendSuspicions - before.FrontendSuspicions,
        after.ResentOnSuspicion - before.ResentOnSuspicion,
        after.ResentOnRefusal - before.ResentOnRefusal);
}
