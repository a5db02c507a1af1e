using FsCheck;
using FsCheck.Fluent;

namespace AsymCdc.Coding.Tests;

/// <summary>k members of <see cref="Length"/> floats, back to back, with moderate values (no NaN/∞,
/// where float round-off would swamp any tolerance).</summary>
public sealed record Group(int K, int Length, float[] Members)
{
    public ReadOnlySpan<float> Member(int i) => Members.AsSpan(i * Length, Length);

    public override string ToString() => $"k={K}, length={Length}, members=[{string.Join(", ", Members)}]";
}

public static class CodingArbitraries
{
    private static readonly Gen<float> Value = Gen.Choose(-100_000, 100_000).Select(v => v / 10_000f);

    public static Arbitrary<Group> Group() =>
        (from k in Gen.Choose(1, 8)
         from length in Gen.Choose(1, 40)
         from members in Gen.ArrayOf(Value, k * length)
         select new Group(k, length, members)).ToArbitrary();

    public static Arbitrary<float> Scalar() => Value.ToArbitrary();
}
