namespace AsymCdc.Inference.Data;

/// <summary>
/// A labelled split of any model input shape, in memory: <see cref="Count"/> items of <see cref="ItemShape"/> floats,
/// back to back in <see cref="Items"/>, and one class label each. Fashion-MNIST (<see cref="FashionMnist"/>) and the
/// tensor-dataset files (<see cref="TensorDataset"/>) both load into it.
/// </summary>
public sealed class LabeledSet
{
    /// <param name="name">What the split is, for messages (e.g. <c>digits/test</c>).</param>
    /// <param name="items">Count × the product of <paramref name="itemShape"/> floats.</param>
    /// <param name="labels">Count labels.</param>
    /// <param name="itemShape">The shape of one item, without the batch axis (e.g. [1, 8, 8]).</param>
    /// <param name="classes">Labels are 0..classes−1.</param>
    /// <param name="source">Where the data came from, for the model card.</param>
    public LabeledSet(string name, float[] items, byte[] labels, IReadOnlyList<int> itemShape, int classes, string source)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(itemShape);
        if (itemShape.Count == 0 || itemShape.Any(d => d < 1))
        {
            throw new ArgumentException($"Data '{name}': item shape [{string.Join(',', itemShape)}] must have at least one axis, each at least 1.", nameof(itemShape));
        }

        long length = 1;
        foreach (var d in itemShape)
        {
            length *= d;
        }

        if (items.Length != labels.Length * length)
        {
            throw new ArgumentException(
                $"Data '{name}': {items.Length} floats for {labels.Length} labels of shape [{string.Join(',', itemShape)}] ({length} floats each); expected {labels.Length * length}.",
                nameof(items));
        }

        Name = name;
        Items = items;
        Labels = labels;
        ItemShape = [.. itemShape];
        ItemLength = checked((int)length);
        Classes = classes;
        Source = source;
    }

    public string Name { get; }

    /// <summary>Count × <see cref="ItemLength"/> floats, item after item.</summary>
    public float[] Items { get; }

    public byte[] Labels { get; }

    /// <summary>One item's shape, without the batch axis.</summary>
    public IReadOnlyList<int> ItemShape { get; }

    /// <summary>Floats per item.</summary>
    public int ItemLength { get; }

    /// <summary>Labels are 0..Classes−1.</summary>
    public int Classes { get; }

    public string Source { get; }

    public int Count => Labels.Length;

    /// <summary><paramref name="count"/> items from <paramref name="start"/>, back to back.</summary>
    public ReadOnlyMemory<float> Slice(int start, int count) => Items.AsMemory(start * ItemLength, count * ItemLength);

    /// <summary>The first <paramref name="count"/> items (all when there are fewer).</summary>
    public LabeledSet Take(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return count >= Count
            ? this
            : new LabeledSet(Name, Items.AsSpan(0, count * ItemLength).ToArray(), Labels.AsSpan(0, count).ToArray(), ItemShape, Classes, Source);
    }

    /// <summary>Fashion-MNIST as a labelled set of [1, 28, 28] items, 10 classes.</summary>
    public static LabeledSet From(FashionMnistSet set, string name)
    {
        ArgumentNullException.ThrowIfNull(set);
        return new LabeledSet(name, set.Images, set.Labels, [1, FashionMnist.Rows, FashionMnist.Columns], 10,
            $"Fashion-MNIST (Xiao et al., 2017) from {set.Directory}");
    }
}
