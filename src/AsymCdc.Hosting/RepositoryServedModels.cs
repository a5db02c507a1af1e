using AsymCdc.Coding;
using AsymCdc.Gateway;
using AsymCdc.Grains;

namespace AsymCdc.Hosting;

/// <summary>The gateway's catalogue from the model repository: every served classifier under its public name, with its
/// input (name, item shape, declared range) and the two outputs every classifier has over the protocols, its logits
/// and its label.</summary>
public static class RepositoryServedModels
{
    public static IServedModelCatalog Catalog(IModelCatalog models)
    {
        ArgumentNullException.ThrowIfNull(models);
        return new ServedModelCatalog(models.Served.Select(ToServed));
    }

    public static ServedModel ToServed(CodedModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.PublicName == ServedModels.FashionMnist.Name)
        {
            // The product's own model keeps its image wording in messages.
            return ServedModels.FashionMnist with { ClusterModel = model.Name, Classes = model.Classes };
        }

        // Without a declared range any finite float32 is accepted (the bounds exclude ±∞).
        var (min, max) = model.InputRange ?? (float.MinValue, float.MaxValue);
        return new ServedModel(model.PublicName, new ServedInput(model.InputName, model.InputShape, min, max),
            [new ServedOutput(InferRequestParser.LogitsOutput, InferOutputs.Logits), new ServedOutput(InferRequestParser.LabelOutput, InferOutputs.Label)])
        {
            Versions = [InferResponseWriter.ModelVersion],
            Classes = model.Classes,
            ClusterModel = model.Name,
        };
    }
}
