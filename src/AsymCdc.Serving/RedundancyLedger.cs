namespace AsymCdc.Serving;

/// <summary>
/// <c>auto</c>'s redundancy budget as a balance of extra worker calls (a token bucket): every query's own call earns the
/// budget, every extra call sent (a parity, a hedge) pays one. A parity goes out only when the balance pays for it, so a
/// group sealed before it fills — one parity for fewer than k queries — is coded only from what other queries left
/// unspent; hedges are never refused (a late query always gets its backup) but are paid from the same balance. The
/// balance is capped, so that a quiet spell cannot save up for a burst: over any run of N queries auto's parities and
/// hedges together exceed budget × N by at most <see cref="Capacity"/> calls plus the hedges the balance could not pay for.
/// </summary>
public sealed class RedundancyLedger
{
    public RedundancyLedger(double budget, double capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budget);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1.0);
        (Budget, Capacity) = (budget, capacity);
    }

    /// <summary>Extra worker calls a query earns.</summary>
    public double Budget { get; }

    /// <summary>The most the balance holds, in calls.</summary>
    public double Capacity { get; }

    /// <summary>Extra calls auto may send now (negative after hedges it could not pay for).</summary>
    public double Balance { get; private set; }

    /// <summary>Parities not sent because the balance could not pay for them.</summary>
    public long Withheld { get; private set; }

    /// <summary>A query's own call went out: it earns the budget.</summary>
    public void Earn() => Balance = Math.Min(Balance + Budget, Capacity);

    /// <summary>An extra call went out.</summary>
    public void Pay() => Balance -= 1;

    /// <summary>Whether the balance pays for one parity now; a refusal is counted in <see cref="Withheld"/>.</summary>
    public bool AffordsParity()
    {
        // Sums of 1/k drift below 1 in floating point; a thousandth of a call is below anything a budget means.
        if (Balance >= 1 - 1e-3)
        {
            return true;
        }

        Withheld++;
        return false;
    }
}
