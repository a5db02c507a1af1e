using AsymCdc.Abstractions;
using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace AsymCdc.Grains;

/// <summary>Places an activation on the silo its string key names (<c>SiloAddress.ToParsableString()</c>), if that
/// silo is alive and a gpu-worker. This is what pins the k+1 members of a group to k+1 distinct silos.</summary>
/// <remarks>The key already says where the activation lives, so it is not registered in the grain directory. That
/// matters when a silo dies: Orleans deactivates every activation whose directory entry the dead silo held, which would
/// restart healthy workers on the surviving silos in the middle of the load.</remarks>
[GenerateSerializer, Immutable, Alias("asymcdc.KeyedSiloPlacement")]
public sealed class KeyedSiloPlacement : PlacementStrategy
{
    public static readonly KeyedSiloPlacement Instance = new();

    public override bool IsUsingGrainDirectory => false;
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class KeyedSiloPlacementAttribute() : PlacementAttribute(KeyedSiloPlacement.Instance);

/// <summary>Places an activation on the calling silo when it is a frontend, else on a random live frontend silo (any
/// compatible silo when none carries the role). Each frontend silo thus batches the queries that arrive through it in
/// its own parity-group activations.</summary>
/// <remarks>Not registered in the grain directory: a silo's parity groups are its own (like a stateless worker with one
/// activation per silo), no query takes a hop to another frontend, and the death of whichever silo would have held their
/// directory entries does not deactivate them with queries in flight.</remarks>
[GenerateSerializer, Immutable, Alias("asymcdc.FrontendPlacement")]
public sealed class FrontendPlacement : PlacementStrategy
{
    public static readonly FrontendPlacement Instance = new();

    public override bool IsUsingGrainDirectory => false;
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class FrontendPlacementAttribute() : PlacementAttribute(FrontendPlacement.Instance);

public sealed class KeyedSiloPlacementDirector(WorkerDirectory directory) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString();
        SiloAddress silo;
        try
        {
            silo = SiloAddress.FromParsableString(key);
        }
        catch (FormatException e)
        {
            throw new PredictionException(PredictionErrorCode.Unavailable,
                $"worker grain key '{key}' does not name a silo (expected SiloAddress.ToParsableString())", e);
        }

        // A leaving worker still answers: a call routed to it just before it left (its group picked it while it was
        // active) reaches its activation, which lives until the silo has drained.
        if (directory.IsLeavingWorker(silo))
        {
            return Task.FromResult(silo);
        }

        if (!directory.IsActiveWorker(silo) || Array.IndexOf(context.GetCompatibleSilos(target), silo) < 0)
        {
            // Fails the call at once, so the parity group treats the member as missing and decodes it.
            throw new PredictionException(PredictionErrorCode.Unavailable,
                $"worker silo {silo} is not an active gpu-worker silo (it left the cluster or never had the role)");
        }

        return Task.FromResult(silo);
    }
}

public sealed class FrontendPlacementDirector(WorkerDirectory directory) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var compatible = context.GetCompatibleSilos(target);
        // Honour an explicit placement hint (grain migration, tests that move a parity group onto a silo they will kill).
        if (IPlacementDirector.GetPlacementHint(target.RequestContextData, compatible) is { } hinted)
        {
            return Task.FromResult(hinted);
        }

        var frontends = directory.Frontends;
        if (frontends.Contains(context.LocalSilo) && Array.IndexOf(compatible, context.LocalSilo) >= 0)
        {
            return Task.FromResult(context.LocalSilo);
        }

        var candidates = new List<SiloAddress>(frontends.Count);
        foreach (var silo in frontends)
        {
            if (Array.IndexOf(compatible, silo) >= 0)
            {
                candidates.Add(silo);
            }
        }

        var pool = candidates.Count > 0 ? candidates : [.. compatible];
        return Task.FromResult(pool[Random.Shared.Next(pool.Count)]);
    }
}
